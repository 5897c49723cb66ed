"""Model families, one folder each (``cyclegan/``, ``genre_classifier/``).

Each family folder holds its Keras models, ``<family>_presets.py`` (config class and named presets),
``<family>_task.py`` (what the trainer driver needs) and whatever else only that family uses
(export, evaluation, song transfer). The families are found through :mod:`mst.registry`; nothing
outside a family folder imports it by name except the registry.
"""
