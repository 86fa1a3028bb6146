//! Rebuild when the shipped bank changes: `include_dir!` embeds `prompts/`, but cargo does not
//! know to look there for changes on its own.

fn main() {
    println!("cargo:rerun-if-changed=prompts");
}
