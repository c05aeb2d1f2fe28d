"""The ingestion package has no import cycles (grimp reads the imports without running them)."""

import grimp


def test_no_module_of_the_ingestion_package_imports_itself_back():
    graph = grimp.build_graph("beacon_ingestion")
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported.startswith("beacon_ingestion") and graph.chain_exists(imported=module, importer=imported):
                cycles.append(" -> ".join([module, *graph.find_shortest_chain(importer=imported, imported=module)]))
    assert cycles == []
