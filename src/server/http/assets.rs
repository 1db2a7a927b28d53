//! The built front end's file names. With cargo-leptos' `hash-files`, the JS, Wasm and CSS
//! carry a hash of their content (`payfriend.<hash>.css`), listed in `hash.txt` beside the
//! server binary: their URLs change whenever their content does, so browsers may keep them
//! for good.

use std::{path::PathBuf, sync::OnceLock};

use leptos::prelude::LeptosOptions;

/// Where cargo-leptos writes the hashes: beside the executable.
pub fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// Whether the build beside this binary hashed its file names.
pub fn built_with_hashes(options: &LeptosOptions) -> bool {
    hash_file(options).is_some_and(|f| f.is_file())
}

/// The hash of the file with `extension` (`js`, `wasm`, `css`) in `hash.txt`'s text.
fn hash_for<'a>(hashes: &'a str, extension: &str) -> Option<&'a str> {
    hashes.lines().find_map(|line| {
        let (file, hash) = line.split_once(':')?;
        (file.trim() == extension).then_some(hash.trim())
    })
}

/// The stylesheet's URL (read once).
pub fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let hash = options
            .hash_files
            .then(|| hash_file(options))
            .flatten()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| hash_for(&text, "css").map(str::to_string));
        let name = &options.output_name;
        let pkg = &options.site_pkg_dir;
        match hash {
            Some(hash) => format!("/{pkg}/{name}.{hash}.css"),
            None => format!("/{pkg}/{name}.css"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_read_by_file_kind() {
        let text = "js: abc\nwasm: def\ncss: Xy-9_z\n";
        assert_eq!(hash_for(text, "css"), Some("Xy-9_z"));
        assert_eq!(hash_for(text, "wasm"), Some("def"));
        assert_eq!(hash_for(text, "manifest"), None);
    }
}
