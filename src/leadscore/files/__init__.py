"""Files from a team's CRM and marketing tools: any CSV dialect, Excel, field mapping.

``mapping`` renames a vendor's export columns to a model's fields (presets for
HubSpot, Salesforce, Marketo and Pardot); ``reader`` reads CSV of any common
dialect and encoding, and ``.xlsx``; ``prepare`` turns such a file into the
canonical UTF-8 CSV every engine reads, so every engine scores it the same;
``fields`` refuses a model that reads a field the data does not have;
``importer`` loads the files into the service's store (`leadscore import`).
"""
