//! Planning: resolves selected modules into components, builds one dependency graph, groups
//! strongly connected components, orders them in levels, finds the critical path, sizes every
//! component for the profile and checks the requests fit the declared nodes.
//!
//! Pure and synchronous: it never reads files, renders objects or touches a cluster.
