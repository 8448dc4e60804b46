"""Sync between replicas: one frame protocol over every transport (docs/protocol.md).

`frames` is the wire format, `responder` the serving side (stateless: one
request in, a stream of frames out), `session` the client, `receive` the
checks every received object and ref state passes, `walk` what one side sends,
`transport` the ways to reach a responder.
"""
