"""The alert path inside the admin app: Alertmanager's webhook payload
(:mod:`~admin_app.notify.payload`), the incident log it feeds
(:mod:`~admin_app.notify.incidents`), the SMS texts (:mod:`~admin_app.notify.messages`),
who gets what (:mod:`~admin_app.notify.plan`), sending them exactly once
(:mod:`~admin_app.notify.deliver`), the SMS provider seam (:mod:`~admin_app.notify.sms`)
and the whole webhook's handling (:mod:`~admin_app.notify.service`).

The HTTP endpoint itself is :mod:`admin_app.hooks`.
"""
