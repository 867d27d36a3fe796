"""Status reads (E7, ``GET /v1/customers/{c}/batchJobStatus/{t}``), the hottest path, in one
place:

- ``component.StatusReads``: the read rule (``may_read``), the fill, what is remembered;
- ``cache``: finished documents, running jobs, confirmed relationships, and the generation
  that a reset of the stored world advances;
- ``keys``: the canonical key of a poll, whatever the client's spelling;
- ``etag``: ``If-None-Match`` against a finished document's strong ETag (304);
- ``lane.StatusLane``: the outer ASGI layer answering cached polls before the framework;
- ``fill``: reading a document from the database.

The route (``api/routes/batch_status.py``) is the other caller of the component; the upload
path seeds it (``StatusReads.seed_running``); the emulator's reset empties it.
"""
