"""The command lines of mst, as importable modules (the installed commands run these).

=================  ============================  ===========================
installed command  module                        top-level script (checkout)
=================  ============================  ===========================
``mst-prepare``    :mod:`mst.prepare`            ``python -m mst.prepare``
``mst-train``      :mod:`mst.cli.train`          ``python train.py``
``mst-transfer``   :mod:`mst.cli.transfer`       ``python transfer.py``
``mst-evaluate``   :mod:`mst.cli.evaluate`       ``python evaluate.py``
``mst-generate``   :mod:`mst.cli.generate`       ``python generate.py``
``mst-demo``       :mod:`mst.demo`               ``make demo``
=================  ============================  ===========================

Each module also runs with ``python -m mst.cli.<name>``. The top-level scripts of a checkout are
thin wrappers around these modules, so every way of starting a command runs the same code.
"""
