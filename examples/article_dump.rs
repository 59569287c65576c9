//! Prints what `claimdex::article::extract_file` finds in an article (a debugging aid).
fn main() -> claimdex::Result<()> {
    for path in std::env::args().skip(1) {
        let x = claimdex::article::extract_file(std::path::Path::new(&path))?;
        println!("{}", serde_json::to_string_pretty(&x).expect("serializable"));
    }
    Ok(())
}
