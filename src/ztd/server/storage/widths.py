"""The longest value each stored text column keeps, in characters: ``schema.py`` declares
its columns with these, and the request checks refuse longer values with them, so a limit
changes in one place and an accepted value always fits."""

from __future__ import annotations

GUID = 36  # a GUID in its canonical spelling
NAME = 256  # partner, customer, batch, policy and client names; serials, models, makers
SERIAL_NUMBER = 256
MODEL_NAME = 256
MANUFACTURER = 256
PRODUCT_KEY = 64  # a product key id (PKID) is 13 digits; room for what clients send
HARDWARE_KEY = 520  # manufacturer, model and serial joined
BATCH_ID = NAME
DEVICE_REF = 256  # a device id as a policy update sends it
POLICY_REF = 256  # a policy id as an upload or a policy update sends it
REQUEST_ID = 128  # MS-RequestId
CORRELATION_ID = 128  # MS-CorrelationId
LEASE_OWNER = 128
