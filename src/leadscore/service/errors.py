"""Errors the service raises; the API maps each to an HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``field`` names the input that is wrong, when there is one."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


class TooLarge(ServiceError):
    status = 413
