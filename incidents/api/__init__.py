"""The REST API (``/api/v1/``) and the monitoring intake that opens incidents."""
