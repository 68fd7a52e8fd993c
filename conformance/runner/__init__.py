"""The riverboat conformance runner: drives an adapter (ADAPTER.md) through the cases in conformance/cases."""
