//! Identifiers come from the `IdSource` in the ports, never minted inside a use case, so a
//! test can know them in advance.

use crate::harness::Harness;

#[tokio::test]
async fn ids_come_from_the_one_source_the_ports_name() {
    let h = Harness::new();
    let first = h.account("first@example.com", false).await;
    let second = h.account("second@example.com", false).await;
    assert_eq!(first.id.as_uuid(), gatehouse_memory::SequentialIds::nth(1));
    assert_eq!(second.id.as_uuid(), gatehouse_memory::SequentialIds::nth(2));
}
