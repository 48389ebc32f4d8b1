"""Config generation: the database -> the exporter's ``sites.yml`` and Alertmanager's
``alertmanager.yml``.

* :mod:`~admin_app.configgen.specs`: the input, plain frozen dataclasses;
* :mod:`~admin_app.configgen.from_models`: database rows -> specs;
* :mod:`~admin_app.configgen.sites_yml`, :mod:`~admin_app.configgen.alertmanager_yml`:
  pure functions specs -> dicts -> YAML;
* :mod:`~admin_app.configgen.apply`: the only side effects: validate, write
  atomically, reload, retry, debounce (:class:`~admin_app.configgen.apply.ConfigApplier`);
* :mod:`~admin_app.configgen.views`: the config page and API.
"""
