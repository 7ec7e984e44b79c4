"""Serving a model over MLflow's scoring protocol (``lighttrack models serve``).

Split by job: ``protocol`` turns request bodies into model input and predictions into JSON
(no web framework), ``app`` is the starlette application, ``batching`` merges rows of requests
that arrive while the model is busy, ``follow`` keeps a ``models:/name@alias`` server on the
version the registry names, ``request_log`` writes a serving run into the file, ``server``
binds the port and runs uvicorn, ``dockerfile`` writes a container folder.

Nothing here is imported by ``import lighttrack``; uvicorn and starlette (the ``serve`` extra)
are imported only when a server starts.
"""
