//! Email addresses for tests that need many spellings of one account.

/// The `n`th case variant of `local@example.com`: bit i of `n` upper-cases letter i of
/// `local`, so every `n` below 2^len(local) spells the same address differently.
pub fn case_variant(local: &str, n: usize) -> String {
    let local: String = local
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if n >> i & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    format!("{local}@example.com")
}
