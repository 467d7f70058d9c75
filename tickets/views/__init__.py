"""Pages and the availability API, by role. Views translate HTTP to service calls and
back; refusals are DomainErrors rendered by common.errors.

- catalogue: what is on sale (function list and page, fragments, the JSON API)
- holds: taking and giving back seats (hold, remove a line, cancel)
- wizard: the registration steps
- responses: redirects and step URLs shared by the others
"""
