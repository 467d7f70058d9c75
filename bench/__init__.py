"""Benchmarks: `manage.py bench <scenario>` and everything it needs (see BENCHMARKS.md).

A Django app of its own, so the product apps carry no measuring code: `bench` imports
them, they never import `bench`. Its clients (httpx) come with the development
requirements.
"""
