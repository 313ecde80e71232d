"""Test tools for apps that use shipper, and for logbridge's own tests.

Importing this package must stay cheap: it is loaded by the pytest plugin entry point.
"""
