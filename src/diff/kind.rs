//! The kinds of drift and how each is named where people and alerts read it: the `drift` and
//! `attribute` labels of the metrics, and the wording of `check` and the landing page.

use serde::Serialize;

/// What kind of difference an item describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// An expected table is absent.
    MissingTable,
    /// A live table is not expected.
    UnexpectedTable,
    /// An expected column is absent from its (present) table.
    MissingColumn,
    /// A live column is not expected.
    UnexpectedColumn,
    /// Both have the column; the types differ.
    TypeMismatch,
    /// Both have the column; one allows NULL and the other does not.
    NullableMismatch,
    /// Both have the column; the defaults differ.
    DefaultMismatch,
    /// Both have the column; the engine makes its values on one side only (identity, serial,
    /// AUTO_INCREMENT).
    IdentityMismatch,
    /// The expected primary key is absent (none, or one over other columns).
    MissingPrimaryKey,
    /// A live primary key is not expected (the table should have none, or another).
    UnexpectedPrimaryKey,
    /// An expected unique constraint or unique index is absent.
    MissingUniqueConstraint,
    /// A live unique constraint or unique index is not expected.
    UnexpectedUniqueConstraint,
    /// An expected exclusion constraint (PostgreSQL `EXCLUDE`) is absent: rows it forbids
    /// (overlapping bookings, say) can be written.
    MissingExclusionConstraint,
    /// A live exclusion constraint is not expected.
    UnexpectedExclusionConstraint,
    /// An expected (non-unique) index is absent.
    MissingIndex,
    /// A live (non-unique) index is not expected.
    UnexpectedIndex,
    /// A live index the engine cannot use: left by a failed `CREATE INDEX CONCURRENTLY`.
    InvalidIndex,
    /// An expected foreign key is absent (none over those columns to that target with those
    /// actions).
    MissingForeignKey,
    /// A live foreign key is not expected.
    UnexpectedForeignKey,
    /// An expected check constraint is absent (none of that name; for an unnamed one, none with
    /// that condition).
    MissingCheckConstraint,
    /// A live check constraint is not expected.
    UnexpectedCheckConstraint,
    /// An expected PostgreSQL enum type is absent (`table` names the type).
    MissingEnumType,
    /// A live enum type is not expected, where the expectation states types.
    UnexpectedEnumType,
    /// An expected label is absent from the live enum type: writing it fails with
    /// `invalid input value for enum`.
    MissingEnumLabel,
    /// A live enum type has a label the expectation does not.
    UnexpectedEnumLabel,
    /// A label of both sides stands elsewhere among the others on the live type: values sort
    /// and compare (`ORDER BY`, `<`) in label order, so queries answer differently.
    MisorderedEnumLabel,
}

impl DriftKind {
    /// The `drift` label of `schema_column_drift` (column-level kinds only).
    pub fn column_label(self) -> Option<&'static str> {
        match self {
            DriftKind::MissingColumn => Some("missing"),
            DriftKind::UnexpectedColumn => Some("unexpected"),
            DriftKind::TypeMismatch => Some("type"),
            DriftKind::NullableMismatch => Some("nullable"),
            DriftKind::DefaultMismatch => Some("default"),
            DriftKind::IdentityMismatch => Some("identity"),
            _ => None,
        }
    }

    /// The `kind` label of the key and index gauges (key and index kinds only): `primary_key`,
    /// `unique`, `exclusion`, `foreign_key`, `check` or `index`.
    pub fn object_label(self) -> Option<&'static str> {
        match self {
            DriftKind::MissingPrimaryKey | DriftKind::UnexpectedPrimaryKey => Some("primary_key"),
            DriftKind::MissingUniqueConstraint | DriftKind::UnexpectedUniqueConstraint => {
                Some("unique")
            }
            DriftKind::MissingExclusionConstraint | DriftKind::UnexpectedExclusionConstraint => {
                Some("exclusion")
            }
            DriftKind::MissingIndex | DriftKind::UnexpectedIndex | DriftKind::InvalidIndex => {
                Some("index")
            }
            DriftKind::MissingForeignKey | DriftKind::UnexpectedForeignKey => Some("foreign_key"),
            DriftKind::MissingCheckConstraint | DriftKind::UnexpectedCheckConstraint => {
                Some("check")
            }
            _ => None,
        }
    }

    /// Whether the item is about an enum type (its `table` is the type's name).
    pub fn is_enum(self) -> bool {
        matches!(
            self,
            DriftKind::MissingEnumType
                | DriftKind::UnexpectedEnumType
                | DriftKind::MissingEnumLabel
                | DriftKind::UnexpectedEnumLabel
                | DriftKind::MisorderedEnumLabel
        )
    }

    /// The `drift` label of `schema_table_drift` (table-level kinds only).
    pub fn table_label(self) -> Option<&'static str> {
        match self {
            DriftKind::MissingTable => Some("missing"),
            DriftKind::UnexpectedTable => Some("unexpected"),
            _ => None,
        }
    }

    /// The `attribute` label of `schema_mismatched_columns` (mismatch kinds only).
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            DriftKind::TypeMismatch => Some("type"),
            DriftKind::NullableMismatch => Some("nullable"),
            DriftKind::DefaultMismatch => Some("default"),
            DriftKind::IdentityMismatch => Some("identity"),
            _ => None,
        }
    }

    /// Short human wording, for `check` output and the landing page.
    pub fn describe(self) -> &'static str {
        match self {
            DriftKind::MissingTable => "missing table",
            DriftKind::UnexpectedTable => "unexpected table",
            DriftKind::MissingColumn => "missing column",
            DriftKind::UnexpectedColumn => "unexpected column",
            DriftKind::TypeMismatch => "type differs",
            DriftKind::NullableMismatch => "nullability differs",
            DriftKind::DefaultMismatch => "default differs",
            DriftKind::IdentityMismatch => "identity differs",
            DriftKind::MissingPrimaryKey => "missing primary key",
            DriftKind::UnexpectedPrimaryKey => "unexpected primary key",
            DriftKind::MissingUniqueConstraint => "missing unique constraint",
            DriftKind::UnexpectedUniqueConstraint => "unexpected unique constraint",
            DriftKind::MissingExclusionConstraint => "missing exclusion constraint",
            DriftKind::UnexpectedExclusionConstraint => "unexpected exclusion constraint",
            DriftKind::MissingIndex => "missing index",
            DriftKind::UnexpectedIndex => "unexpected index",
            DriftKind::InvalidIndex => "invalid index",
            DriftKind::MissingForeignKey => "missing foreign key",
            DriftKind::UnexpectedForeignKey => "unexpected foreign key",
            DriftKind::MissingCheckConstraint => "missing check constraint",
            DriftKind::UnexpectedCheckConstraint => "unexpected check constraint",
            DriftKind::MissingEnumType => "missing enum type",
            DriftKind::UnexpectedEnumType => "unexpected enum type",
            DriftKind::MissingEnumLabel => "missing enum label",
            DriftKind::UnexpectedEnumLabel => "unexpected enum label",
            DriftKind::MisorderedEnumLabel => "enum label out of order",
        }
    }
}
