//! The UniFFI bindings generator, pinned to this workspace's UniFFI version.
//! Used by `scripts/bindings.sh`; built only with `--features cli`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
