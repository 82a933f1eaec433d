//! Docker image store restore: the files of an `image/<driver>/` folder found at any depth of
//! the tarball ([`paths`]) are staged per candidate folder while they stream ([`collect`]),
//! and at the end dockerd's startup rules are applied to the chosen one ([`restore`], with
//! [`records`] for `repositories.json` and `distribution/`).

pub(crate) mod collect;
pub(crate) mod driver_dirs;
pub(crate) mod layer_rebuild;
pub(crate) mod paths;
mod records;
pub(crate) mod restore;
