"""The six role names and the ten features of the product (REQUIREMENTS.md).

Pure data with no Flask or database imports, so that models, the CLI and the tests
can all use it. The table that maps roles to features is in :mod:`admin_app.rbac`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    IT_STAFF = "it_staff"
    DEVELOPER = "developer"
    CUSTOMER_ENGAGEMENT = "customer_engagement"
    FLEXIPAY_SUPPORT = "flexipay_support"
    EBANKING_SUPPORT = "ebanking_support"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Admin",
    Role.IT_STAFF: "IT Staff",
    Role.DEVELOPER: "Developer",
    Role.CUSTOMER_ENGAGEMENT: "Customer Engagement",
    Role.FLEXIPAY_SUPPORT: "Flexipay Support",
    Role.EBANKING_SUPPORT: "Ebanking Support",
}


class Feature(StrEnum):
    USER_MANAGEMENT = "user_management"
    SERVER_MANAGEMENT = "server_management"
    REAL_TIME_STATUS = "real_time_status"
    SERVER_LOGS = "server_logs"
    ALERTS = "alerts"
    REPORTS = "reports"
    ADMIN_DASHBOARD = "admin_dashboard"
    SYSTEM_SETTINGS = "system_settings"
    API_ACCESS = "api_access"
    CODEBASE_ACCESS = "codebase_access"

    @property
    def label(self) -> str:
        return FEATURE_LABELS[self]


FEATURE_LABELS: dict[Feature, str] = {
    Feature.USER_MANAGEMENT: "User Management",
    Feature.SERVER_MANAGEMENT: "Server Management",
    Feature.REAL_TIME_STATUS: "Real-Time Server Status",
    Feature.SERVER_LOGS: "Server Logs",
    Feature.ALERTS: "Alerts",
    Feature.REPORTS: "Reports",
    Feature.ADMIN_DASHBOARD: "Admin Dashboard",
    Feature.SYSTEM_SETTINGS: "System Settings",
    Feature.API_ACCESS: "API Access",
    Feature.CODEBASE_ACCESS: "Codebase Access",
}
