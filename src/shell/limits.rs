//! Bounds on what weft parses. The parser recurses into nested constructs (a debug build
//! overflows an 8 MiB stack at about 1,000 levels), so a script past these bounds is
//! declined before it is parsed: a request cannot exhaust the stack of the thread that
//! checks it. Each bound counts every opener in the script, so it also bounds the depth.

use brush_parser::Token;

use super::Unclear;

/// The longest script weft reads (bytes).
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// The most substitution openers (`$(`, `` ` ``, `<(`, `>(`), quoted or not.
pub const MAX_SUBSTITUTIONS: usize = 256;

/// The most compound-command openers (`(`, `{`, `if`, `while`, …) in one script.
pub const MAX_COMPOUNDS: usize = 256;

/// Checks the raw text before it is tokenized.
pub fn check_text(script: &str) -> Result<(), Unclear> {
    if script.len() > MAX_SCRIPT_BYTES {
        return Err(Unclear::new(format!(
            "the script is longer than {MAX_SCRIPT_BYTES} bytes"
        )));
    }
    let substitutions = script.matches("$(").count()
        + script.matches('`').count()
        + script.matches("<(").count()
        + script.matches(">(").count();
    if substitutions > MAX_SUBSTITUTIONS {
        return Err(Unclear::new(format!(
            "the script has more than {MAX_SUBSTITUTIONS} substitutions"
        )));
    }
    Ok(())
}

/// Checks the tokens before they are parsed.
pub fn check_tokens(tokens: &[Token]) -> Result<(), Unclear> {
    if super::script::openers(tokens) > MAX_COMPOUNDS {
        return Err(Unclear::new(format!(
            "the script has more than {MAX_COMPOUNDS} compound commands"
        )));
    }
    Ok(())
}
