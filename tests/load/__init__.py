"""Load against the local stack: the shared Locust workload (``workload.py``), ``make soak`` (``soak.py``) and
the write-scaling benchmark ``make scaling`` (``scaling.py``)."""
