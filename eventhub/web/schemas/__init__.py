"""The API's request and answer shapes as pydantic models: what `web/` validates bodies with, and what
`GET /api/v1/openapi.json` is generated from (see `eventhub.web.openapi`)."""
