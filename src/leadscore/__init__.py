"""leadscore: lead scoring with readable rules, learned models and explanations."""

__version__ = "0.1.0"
