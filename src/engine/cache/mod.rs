//! The result cache ("never pay twice"): a unit whose key — everything that decides its
//! result — was seen before is served its stored result instead of running. The key
//! ([`KeyParts`]), the fingerprint of the files a step reads ([`Files`]), the store on
//! disk ([`Store`], [`Entry`]) and its pruning ([`Prune`]). The engine's `Cached`
//! wrapper unit uses them; `weft cache prune` and `weft plan --cache` too. Whether a
//! step can be cached at all is the plan's to say ([`crate::plan::Eligible`]).

mod entry;
mod files;
mod key;
mod prune;
mod size;
mod store;
mod tree_print;

pub use entry::{ENTRY_VERSION, Entry, StoredPatch};
pub use files::Files;
pub use key::{KeyParts, canonical, hash_value};
pub use prune::{Prune, Pruned};
pub use size::{format_size, parse_size};
pub use store::Store;
pub use tree_print::TreePrint;
