"""The HTTP routes, one module per endpoint family; ``create_app`` includes them in order.

Each route reads the app's state (grader, settings, metrics) through the dependencies in
:mod:`verifier_service.routes.deps`, admits the batch, hands the items to the grader and maps
results and errors to the wire models of :mod:`verifier_service.schemas`.
"""
