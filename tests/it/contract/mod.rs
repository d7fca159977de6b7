//! The storage-port contract suite: every MUST of the ports that store state, written
//! once over a [`backend::Backend`] and stamped out as one `#[tokio::test]` per backend ×
//! contract test, so the memory and SQL adapters are held to the same rules.

mod backend;
mod fixtures;
mod items;
mod limiter;
mod listing;
mod reset_tokens;
mod sessions;
mod users;

/// One module per port with one test per named contract function, each run on fresh
/// stores of `$backend`, carrying the attributes in `$attrs`: for the PostgreSQL suite the
/// `cfg_attr(no_test_database, ignore = …)` that reports its tests as ignored when no
/// server is configured (`TEST_DATABASE_URL` unset, see `tests/build.rs`) instead of
/// passing them unrun; `{}` for memory and SQLite, which always run.
macro_rules! port_tests {
    ($backend:expr, $attrs:tt; $($port:ident: [$($test:ident),* $(,)?]),* $(,)?) => {$(
        mod $port {
            $(
                with_attributes! { $attrs
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        use crate::contract::backend::Backend as _;
                        crate::contract::$port::$test($backend.stores().await).await;
                    }
                }
            )*
        }
    )*};
}

/// Puts the attributes of a `{ … }` group before an item (a repetition nested deeper than
/// the attributes were captured cannot expand them directly).
macro_rules! with_attributes {
    ({ $($attr:tt)* } $($item:tt)*) => { $($attr)* $($item)* };
}

/// The whole suite for one backend.
macro_rules! contract_suite {
    ($backend:expr, $attrs:tt) => {
        port_tests! { $backend, $attrs;
            users: [
                insert_then_get_returns_the_user_as_stored,
                get_of_an_unknown_id_is_none,
                find_by_email_matches_any_case_of_the_address,
                insert_refuses_a_case_variant_of_a_taken_email,
                concurrent_inserts_of_case_variants_admit_exactly_one,
                update_writes_every_field_of_the_patch,
                update_leaves_every_column_outside_the_patch_as_it_is_now,
                a_compare_and_set_password_change_needs_the_hash_it_verified,
                update_of_an_unknown_user_is_not_found,
                update_refuses_an_email_held_by_another_user,
                update_may_change_the_case_of_the_users_own_email,
                update_refuses_to_demote_the_last_active_superuser,
                update_may_demote_a_superuser_while_another_active_one_remains,
                the_superuser_guard_ignores_updates_that_demote_no_active_superuser,
                update_ending_all_sessions_revokes_every_session_of_that_user_only,
                update_ending_all_but_one_session_keeps_that_session,
                update_stamps_the_sessions_it_ends_with_the_time_it_is_given,
                update_keeping_sessions_leaves_them_alive,
                update_that_changes_the_password_hash_voids_reset_tokens,
                update_that_keeps_the_password_hash_keeps_reset_tokens,
                upgrade_hash_replaces_the_hash_only_while_it_is_unchanged,
                delete_removes_the_user_with_items_sessions_and_tokens,
                delete_frees_the_email_for_a_new_account,
                delete_of_an_unknown_user_is_not_found,
                delete_refuses_the_last_active_superuser,
                list_orders_newest_first_with_missing_dates_first_and_ties_by_id,
                list_pages_while_counting_every_user,
            ],
            items: [
                insert_then_get_returns_the_item_as_stored,
                insert_for_a_missing_owner_fails,
                list_for_an_owner_orders_newest_first_with_missing_dates_first_and_ties_by_id,
                list_for_an_owner_pages_while_counting_only_their_items,
                list_without_an_owner_returns_and_counts_every_item,
                update_with_the_owner_writes_the_patch,
                update_writes_only_the_fields_of_the_patch,
                update_with_another_owner_changes_nothing,
                update_without_an_owner_writes_any_item,
                update_of_an_unknown_item_returns_none,
                delete_with_another_owner_keeps_the_item,
                delete_with_the_owner_or_without_one_removes_the_item_once,
            ],
            sessions: [
                create_then_find_by_token_returns_the_session,
                create_for_a_missing_user_is_owner_gone_and_stores_nothing,
                create_ends_the_least_recently_used_live_sessions_beyond_the_cap,
                concurrent_creates_never_leave_more_live_sessions_than_the_cap,
                rotating_an_unused_token_stores_its_child_and_bumps_last_used,
                repeating_a_rotation_within_the_grace_writes_nothing,
                reusing_a_token_after_the_grace_revokes_the_session,
                reusing_a_token_whose_child_was_used_revokes_the_session_even_within_the_grace,
                repeating_a_rotation_with_another_successor_revokes_the_session,
                rotating_an_unknown_token_is_invalid,
                rotating_in_a_revoked_session_is_invalid_and_writes_nothing,
                rotating_at_or_past_not_after_is_invalid,
                rotating_after_the_idle_timeout_is_invalid,
                concurrent_rotations_of_one_token_rotate_it_once,
                load_principal_returns_the_user_with_their_session,
                load_principal_of_a_missing_user_is_none,
                load_principal_withholds_a_session_that_is_not_the_users,
                load_principal_returns_an_ended_session_for_the_caller_to_judge,
                list_live_returns_live_sessions_most_recently_used_first,
                ending_one_session_revokes_only_that_session,
                ending_an_already_ended_session_revokes_nothing,
                ending_another_users_session_revokes_nothing,
                ending_all_revokes_every_live_session_of_that_user_only,
                ending_all_but_one_keeps_that_session,
                delete_ended_removes_sessions_over_before_the_cutoff_only,
            ],
            reset_tokens: [
                an_issued_token_checks_as_valid_for_its_user_without_being_used,
                an_unknown_token_is_invalid,
                a_token_stops_working_at_its_expiry_time,
                a_newer_token_voids_the_older_one_of_the_same_user_only,
                issuing_for_a_missing_user_is_owner_gone,
                redeem_sets_the_password_consumes_the_token_and_ends_every_session,
                a_token_of_an_inactive_user_is_refused_and_changes_nothing,
            ],
            limiter: [
                hits_up_to_the_limit_pass_and_the_next_is_throttled_until_the_window_ends,
                check_counts_nothing_and_locks_once_the_window_is_full,
                a_new_window_starts_at_the_first_event_after_the_last_one_ended,
                retry_after_is_at_least_one_second,
                clear_forgets_every_event_of_the_key_only,
                release_takes_back_one_event_of_the_window_that_counted_it,
                release_leaves_a_window_started_after_the_event_alone,
                clear_and_release_clears_one_key_and_releases_the_other,
                keys_are_counted_apart,
                each_lock_run_into_doubles_the_next_window_up_to_the_cap,
                a_quiet_spell_as_long_as_the_last_window_forgets_the_strikes,
                a_window_that_never_filled_is_no_strike,
                clear_forgets_the_strikes_too,
                delete_windows_removes_windows_started_before_the_cutoff,
            ],
        }
    };
}

mod memory {
    contract_suite!(crate::contract::backend::Memory, {});
}

mod sqlite {
    contract_suite!(crate::contract::backend::Sqlite, {});
}

mod postgres {
    contract_suite!(crate::contract::backend::Postgres, {
        #[cfg_attr(no_test_database, ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
    });
}
