//! The core's modules depend on each other in one direction only: the `crate::` paths each file of
//! src/ names form no cycle (`api` and `plan` once imported each other), and no module but the
//! bindings and lib.rs names a binding.

use std::collections::BTreeMap;

fn dependencies() -> BTreeMap<String, Vec<String>> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut uses: Vec<String> = text
            .split("crate::")
            .skip(1)
            .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>())
            .filter(|m| !m.is_empty() && *m != name)
            .collect();
        uses.sort();
        uses.dedup();
        graph.insert(name, uses);
    }
    graph
}

/// A cycle through `at`, if one is reachable from it: the modules on the way, in order.
fn cycle(graph: &BTreeMap<String, Vec<String>>, at: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|m| m == at) {
        return Some(path[i..].iter().cloned().chain([at.to_string()]).collect());
    }
    path.push(at.to_string());
    for next in graph.get(at).into_iter().flatten() {
        if let Some(c) = cycle(graph, next, path) {
            return Some(c);
        }
    }
    path.pop();
    None
}

#[test]
fn the_core_modules_form_no_cycle_and_none_names_a_binding() {
    let graph = dependencies();
    assert!(graph.len() > 10 && graph.contains_key("wire") && graph.contains_key("columns"), "{graph:?}");
    for module in graph.keys() {
        assert_eq!(cycle(&graph, module, &mut vec![]), None, "a cycle of imports");
    }
    for (module, uses) in &graph {
        if !["lib", "napi", "wasm"].contains(&module.as_str()) {
            assert!(!uses.iter().any(|u| u == "napi" || u == "wasm"), "{module} names a binding: {uses:?}");
        }
    }
}
