"""Every service has the same shape (issue 10 item 4): the same module names, no import
cycles, no service importing another, libraries that never import a service. grimp reads
the imports without running them."""

from __future__ import annotations

import importlib.util

import grimp
import pytest

SERVICES = ["beacon_gateway", "beacon_report_writer", "beacon_rag_query", "beacon_ingestion",
            "beacon_hitl"]
LIBRARIES = ["beacon_contracts", "beacon_runtime"]
# A module or a package of that name; `graph` only where the service runs a LangGraph.
EVERY_SERVICE = ["settings", "domain", "handlers", "api", "repository", "bootstrap", "main"]
WITH_A_GRAPH = {"beacon_report_writer", "beacon_rag_query"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports under TYPE_CHECKING never run, so they cannot make a cycle.
    return grimp.build_graph(*SERVICES, *LIBRARIES, include_external_packages=False,
                             exclude_type_checking_imports=True)


@pytest.mark.parametrize("service", SERVICES)
def test_the_same_module_names_in_every_service(service):
    expected = EVERY_SERVICE + (["graph"] if service in WITH_A_GRAPH else [])
    missing = [name for name in expected if importlib.util.find_spec(f"{service}.{name}") is None]
    assert missing == []


@pytest.mark.parametrize("package", SERVICES + LIBRARIES)
def test_no_import_cycles(graph, package):
    cycles = []
    for module in sorted(m for m in graph.modules if m == package or m.startswith(package + ".")):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.startswith(package) and graph.chain_exists(imported=module, importer=imported):
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                cycles.append(" -> ".join([module, *chain]))
    assert cycles == []


@pytest.mark.parametrize("service", SERVICES)
def test_services_never_import_each_other(graph, service):
    others = [other for other in SERVICES if other != service]
    assert [other for other in others if graph.chain_exists(importer=service, imported=other,
                                                            as_packages=True)] == []


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_never_import_a_service(graph, library):
    assert [s for s in SERVICES if graph.chain_exists(importer=library, imported=s,
                                                      as_packages=True)] == []


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_never_run(library):
    """A library has no entry point: no __main__ module and no `main` module."""
    for name in ("__main__", "main"):
        assert importlib.util.find_spec(f"{library}.{name}") is None
