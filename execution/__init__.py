"""The query executor of the fast lane: documents planned once, run a level at a time.

``plan`` turns a query document into a tree of field plans read from the schema's
declarations (schema/fields.py); ``run`` executes a plan for one request; ``compat``
holds every use of strawberry's and graphql-core's private parts. app/lane.py serves
HTTP requests with them; everything the planner does not handle stays on strawberry's
path, the reference both are tested against.
"""
