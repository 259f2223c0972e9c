//! The contract as data: the one property table of `CONTRACT.md` section 3 and the
//! tester's policies of section 5.
//!
//! This is the only module that names a property. The parser, the serializer, the
//! generators, the server and the checks all read a [`Profile`]: the entity's property
//! table, the complex types it uses, and the policies a tester may relax.
//!
//! The built-in profile is [`Profile::seed`], the seed page's table. A profile file (TOML)
//! overrides the seed key by key, see [`Profile::from_toml`]:
//!
//! ```
//! use devices_harness::contract::{Profile, UnknownProperties};
//!
//! let profile = Profile::from_toml(r#"
//!     name = "graph-v1.0"
//!     required = ["accountEnabled", "displayName", "operatingSystem", "operatingSystemVersion"]
//!     [policies]
//!     unknown_properties = "accept"
//! "#).unwrap();
//! assert_eq!(profile.policies().unknown_properties, UnknownProperties::Accept);
//! assert_eq!(profile.properties().iter().filter(|p| p.required).count(), 4);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub mod routes;
pub use routes::{Routes, RoutesError, Scope, USER_ID};

/// Largest request body a target must accept, in bytes (CONTRACT.md section 3).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Deepest nesting of arrays and objects a valid body may have; the top-level object is
/// depth 1 (CONTRACT.md section 3).
pub const MAX_DEPTH: usize = 64;

/// Largest `$top` a list request may ask for (CONTRACT.md section 1).
pub const MAX_PAGE_SIZE: usize = 999;

/// The primitive Edm types the contract uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edm {
    /// `Edm.String`: any JSON string without lone surrogates.
    String,
    /// `Edm.Boolean`: `true` or `false`.
    Boolean,
    /// `Edm.Int32`: a JSON integer in the 32-bit signed range.
    Int32,
    /// `Edm.DateTimeOffset`: see [`crate::model::DateTimeOffset`].
    DateTimeOffset,
    /// `Edm.Binary`: canonical base64, see [`crate::model::Binary`].
    Binary,
    /// `Edm.Guid`: `8-4-4-4-12` hexadecimal digits (the key `id` is a String of this form).
    Guid,
}

impl Edm {
    /// Every primitive type, in declaration order.
    pub const ALL: [Edm; 6] = [
        Edm::String,
        Edm::Boolean,
        Edm::Int32,
        Edm::DateTimeOffset,
        Edm::Binary,
        Edm::Guid,
    ];

    /// The OData name, such as `Edm.Int32`.
    pub fn name(self) -> &'static str {
        match self {
            Edm::String => "Edm.String",
            Edm::Boolean => "Edm.Boolean",
            Edm::Int32 => "Edm.Int32",
            Edm::DateTimeOffset => "Edm.DateTimeOffset",
            Edm::Binary => "Edm.Binary",
            Edm::Guid => "Edm.Guid",
        }
    }
}

/// The element type of a property: a primitive, or one of the profile's complex types
/// (an index into [`Profile::complex_types`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    /// A primitive Edm type.
    Primitive(Edm),
    /// A complex type, by index into [`Profile::complex_types`].
    Complex(usize),
}

/// One row of a property table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyDef {
    /// The member name, case-sensitive.
    pub name: String,
    /// The element type.
    pub base: Base,
    /// A collection (JSON array) of `base`.
    pub collection: bool,
    /// `null` is allowed for the property itself (never for collection elements).
    pub nullable: bool,
    /// Must be present in a create request.
    pub required: bool,
    /// The entity key: optional in requests, assigned by the server when absent.
    pub key: bool,
    /// Largest length in UTF-16 code units, for strings.
    pub max_utf16: Option<usize>,
    /// Set by the server, never by a client (Graph's "Read-only"): generated devices
    /// leave it out, a target may ignore it or refuse it in a create, and what comes back
    /// for it is not compared.
    pub read_only: bool,
    /// `"name":` as JSON, written once here for the writers' hot paths.
    pub(crate) member_prefix: String,
}

/// A complex type such as `alternativeSecurityId`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplexType {
    /// The qualified name, such as `microsoft.graph.alternativeSecurityId`.
    pub name: String,
    /// The values its `@odata.type` annotation may take.
    pub odata_types: Vec<String>,
    /// Its members.
    pub members: Vec<PropertyDef>,
}

/// What to do with a member that is neither a property nor an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownProperties {
    /// 400 `Request_BadRequest` (the seed).
    Reject,
    /// Kept apart from the properties, like annotations.
    Accept,
}

/// What a target does with a client-supplied key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientId {
    /// A well-formed, unused id is used; a taken one is 409 (the seed).
    Honour,
    /// Any client id is a 400.
    Reject,
    /// The id is validated for form and then replaced by the server's own.
    Ignore,
}

/// How exactly a DateTimeOffset must come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetPreservation {
    /// The very string that was sent (the seed).
    Exact,
    /// Any lexical form of the same instant.
    SameInstant,
}

/// How a broken rule is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Not checked.
    Off,
    /// Reported, does not fail the run.
    Warning,
    /// Fails the run.
    Error,
}

/// The relaxations of CONTRACT.md section 5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    /// Unknown member names.
    pub unknown_properties: UnknownProperties,
    /// Client-supplied `id`.
    pub client_id: ClientId,
    /// DateTimeOffset round-trip.
    pub offset_preservation: OffsetPreservation,
    /// The `Location` header on 201.
    pub location_header: Level,
    /// The `request-id` and `client-request-id` headers.
    pub request_id_header: Level,
    /// Severity per oracle name, overriding each oracle's default.
    pub severity: BTreeMap<String, Level>,
}

impl Default for Policies {
    fn default() -> Self {
        Policies {
            unknown_properties: UnknownProperties::Reject,
            client_id: ClientId::Honour,
            offset_preservation: OffsetPreservation::Exact,
            location_header: Level::Error,
            request_id_header: Level::Warning,
            severity: BTreeMap::new(),
        }
    }
}

/// A property table plus policies: what one target is held to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    name: String,
    odata_type: String,
    properties: Vec<PropertyDef>,
    complex_types: Vec<ComplexType>,
    key: usize,
    policies: Policies,
    routes: Routes,
}

/// A profile file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file is not TOML of the profile's shape.
    #[error("profile is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A type is not `Edm.X`, `Collection(Edm.X)` or a declared complex type.
    #[error("property '{property}' has unknown type '{ty}'")]
    UnknownType {
        /// The property.
        property: String,
        /// The type as written.
        ty: String,
    },
    /// Two properties share a name.
    #[error("property '{0}' is declared twice")]
    DuplicateProperty(String),
    /// A name in `required` is not in the table.
    #[error("'required' names '{0}', which is not a property")]
    UnknownRequired(String),
    /// A name is empty or contains `@` (which marks annotations).
    #[error("'{0}' cannot be a property name (empty or containing '@')")]
    BadName(String),
    /// There is no single key property of type Edm.Guid.
    #[error("the table needs exactly one key property of type Edm.Guid, not a collection")]
    Key,
    /// The `[routes]` table cannot be used.
    #[error(transparent)]
    Routes(#[from] RoutesError),
}

// ---------------------------------------------------------------------------------------
// The seed table. The one place in the code that spells the properties of CONTRACT.md.
// ---------------------------------------------------------------------------------------

const SEED_TOML: &str = r##"
name = "seed"
odata_type = "#microsoft.graph.device"

# name, type, nullable, required (key: optional in requests), max_utf16
properties = [
  { name = "id",                            type = "Edm.Guid",           nullable = false, key = true },
  { name = "deletedDateTime",               type = "Edm.DateTimeOffset", nullable = true },
  { name = "accountEnabled",                type = "Edm.Boolean",        nullable = true },
  { name = "alternativeSecurityIds",        type = "Collection(microsoft.graph.alternativeSecurityId)", nullable = false },
  { name = "approximateLastSignInDateTime", type = "Edm.DateTimeOffset", nullable = true },
  { name = "complianceExpirationDateTime",  type = "Edm.DateTimeOffset", nullable = true },
  { name = "deviceId",                      type = "Edm.String",         nullable = true },
  { name = "deviceMetadata",                type = "Edm.String",         nullable = true },
  { name = "deviceVersion",                 type = "Edm.Int32",          nullable = true },
  { name = "displayName",                   type = "Edm.String",         nullable = true, max_utf16 = 256 },
  { name = "isCompliant",                   type = "Edm.Boolean",        nullable = true },
  { name = "isManaged",                     type = "Edm.Boolean",        nullable = true },
  { name = "onPremisesLastSyncDateTime",    type = "Edm.DateTimeOffset", nullable = true },
  { name = "onPremisesSyncEnabled",         type = "Edm.Boolean",        nullable = true },
  { name = "operatingSystem",               type = "Edm.String",         nullable = true },
  { name = "operatingSystemVersion",        type = "Edm.String",         nullable = true },
  { name = "physicalIds",                   type = "Collection(Edm.String)", nullable = false },
  { name = "profileType",                   type = "Edm.String",         nullable = true },
  { name = "systemLabels",                  type = "Collection(Edm.String)", nullable = false },
  { name = "trustType",                     type = "Edm.String",         nullable = true },
  { name = "Name",                          type = "Edm.String",         nullable = true },
  { name = "Manufacturer",                  type = "Edm.String",         nullable = true },
  { name = "Model",                         type = "Edm.String",         nullable = true },
  { name = "Kind",                          type = "Edm.String",         nullable = true },
  { name = "Status",                        type = "Edm.String",         nullable = true },
  { name = "Platform",                      type = "Edm.String",         nullable = true },
]

[policies]
unknown_properties = "reject"
client_id = "honour"
offset_preservation = "exact"
location_header = "error"
request_id_header = "warning"

[[complex_types]]
name = "microsoft.graph.alternativeSecurityId"
odata_types = ["#microsoft.graph.alternativeSecurityId", "microsoft.graph.alternativeSecurityId"]
members = [
  { name = "type",             type = "Edm.Int32",  nullable = true },
  { name = "identityProvider", type = "Edm.String", nullable = true },
  { name = "key",              type = "Edm.Binary", nullable = true },
]
"##;

/// Graph v1.0's device, from microsoft-graph-docs-contrib (see the README).
const GRAPH_V1_TOML: &str = include_str!("contract/graph-v1.toml");

/// Graph beta's device, from microsoft-graph-docs-contrib (see the README).
const GRAPH_BETA_TOML: &str = include_str!("contract/graph-beta.toml");

// The file form of a profile. `required` defaults to "every property but the key" for the
// entity, and to each member's own flag for complex types.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    name: String,
    odata_type: String,
    #[serde(default)]
    required: Option<Vec<String>>,
    properties: Vec<PropertySpec>,
    #[serde(default)]
    complex_types: Vec<ComplexSpec>,
    #[serde(default)]
    policies: Policies,
    #[serde(default)]
    routes: Routes,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertySpec {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    key: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_utf16: Option<usize>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComplexSpec {
    name: String,
    #[serde(default)]
    odata_types: Vec<String>,
    members: Vec<PropertySpec>,
}

impl Profile {
    /// The built-in profile: the seed page's table with every property but `id` required.
    pub fn seed() -> &'static Profile {
        static SEED: OnceLock<Profile> = OnceLock::new();
        SEED.get_or_init(|| match Self::from_toml_unmerged(SEED_TOML) {
            Ok(profile) => profile,
            // The seed table is a constant checked by the unit tests below.
            Err(e) => panic!("the built-in seed profile is invalid: {e}"),
        })
    }

    /// The built-in profiles: `seed`, and `graph-v1` and `graph-beta`, made from
    /// Microsoft's Graph documentation of the device resource and "Create device" (the
    /// README cites the pages).
    pub const BUILT_IN: [&'static str; 3] = ["seed", "graph-v1", "graph-beta"];

    /// A built-in profile by name.
    pub fn built_in(name: &str) -> Option<&'static Profile> {
        static GRAPH_V1: OnceLock<Profile> = OnceLock::new();
        static GRAPH_BETA: OnceLock<Profile> = OnceLock::new();
        let (cell, text) = match name {
            "seed" => return Some(Self::seed()),
            "graph-v1" => (&GRAPH_V1, GRAPH_V1_TOML),
            "graph-beta" => (&GRAPH_BETA, GRAPH_BETA_TOML),
            _ => return None,
        };
        // Constants checked by the unit tests below.
        Some(cell.get_or_init(|| match Self::from_toml_unmerged(text) {
            Ok(profile) => profile,
            Err(e) => panic!("the built-in profile {name} is invalid: {e}"),
        }))
    }

    /// Relaxes the profile for reading a target's answers: unknown members kept, nothing
    /// required (a target may add properties; a relaxed profile sends only some).
    pub fn relax_for_reading(&mut self) {
        self.policies.unknown_properties = UnknownProperties::Accept;
        for def in &mut self.properties {
            def.required = false;
        }
    }

    /// A profile from TOML. Every top-level key the text gives replaces the seed's
    /// (`name`, `odata_type`, `properties`, `complex_types`, `policies`); `required`, a list
    /// of property names, replaces the table's required set; `[policies]` keys not given
    /// keep their defaults. The README documents the format.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        let overlay: toml::Table = toml::from_str(text)?;
        let mut base: toml::Table = toml::from_str(SEED_TOML)?;
        if let (Some(toml::Value::Table(over)), Some(toml::Value::Table(seed))) =
            (overlay.get("policies"), base.get_mut("policies"))
        {
            // Policies merge key by key, so a file can relax one rule alone.
            for (k, v) in over {
                seed.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in overlay {
            if k != "policies" {
                base.insert(k, v);
            }
        }
        let spec: ProfileSpec = base.try_into()?;
        Self::from_spec(spec)
    }

    fn from_toml_unmerged(text: &str) -> Result<Profile, ProfileError> {
        Self::from_spec(toml::from_str(text)?)
    }

    fn from_spec(spec: ProfileSpec) -> Result<Profile, ProfileError> {
        let complex_names: Vec<&str> = spec.complex_types.iter().map(|c| c.name.as_str()).collect();
        let mut complex_types = Vec::with_capacity(spec.complex_types.len());
        for c in &spec.complex_types {
            let members = resolve_table(&c.members, &complex_names, None, false)?;
            complex_types.push(ComplexType {
                name: c.name.clone(),
                odata_types: c.odata_types.clone(),
                members,
            });
        }
        let properties = resolve_table(
            &spec.properties,
            &complex_names,
            spec.required.as_deref(),
            true,
        )?;
        let keys: Vec<usize> = (0..properties.len())
            .filter(|&i| properties[i].key)
            .collect();
        let key = match keys.as_slice() {
            [k] if properties[*k].base == Base::Primitive(Edm::Guid)
                && !properties[*k].collection =>
            {
                *k
            }
            _ => return Err(ProfileError::Key),
        };
        spec.routes.validate()?;
        Ok(Profile {
            name: spec.name,
            odata_type: spec.odata_type,
            properties,
            complex_types,
            key,
            policies: spec.policies,
            routes: spec.routes,
        })
    }

    /// The profile's name (`seed` for the built-in one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity's `@odata.type`, `#microsoft.graph.device`.
    pub fn odata_type(&self) -> &str {
        &self.odata_type
    }

    /// The entity's property table, in the contract's order.
    pub fn properties(&self) -> &[PropertyDef] {
        &self.properties
    }

    /// The complex types that [`Base::Complex`] indexes.
    pub fn complex_types(&self) -> &[ComplexType] {
        &self.complex_types
    }

    /// The index of the key property (`id`).
    pub fn key(&self) -> usize {
        self.key
    }

    /// The policies of CONTRACT.md section 5.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Where the target's devices live.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// The members of `def`'s complex type (none for a primitive).
    pub fn members_of(&self, def: &PropertyDef) -> &[PropertyDef] {
        match def.base {
            Base::Complex(i) => self
                .complex_types
                .get(i)
                .map(|t| t.members.as_slice())
                .unwrap_or_default(),
            Base::Primitive(_) => &[],
        }
    }

    /// The index of a property by exact name.
    pub fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == name)
    }

    /// The type of a property as OData writes it: `Edm.Int32`,
    /// `Collection(microsoft.graph.alternativeSecurityId)`.
    pub fn type_name(&self, def: &PropertyDef) -> String {
        let base = self.base_name(def.base);
        if def.collection {
            format!("Collection({base})")
        } else {
            base
        }
    }

    /// The name of an element type: `Edm.String`, `microsoft.graph.alternativeSecurityId`.
    pub fn base_name(&self, base: Base) -> String {
        match base {
            Base::Primitive(edm) => edm.name().to_owned(),
            Base::Complex(i) => self
                .complex_types
                .get(i)
                .map_or_else(|| "?".to_owned(), |c| c.name.clone()),
        }
    }

    /// The profile as TOML, in the form [`Profile::from_toml`] reads.
    pub fn to_toml(&self) -> String {
        let to_spec = |p: &PropertyDef| PropertySpec {
            name: p.name.clone(),
            ty: self.type_name(p),
            nullable: p.nullable,
            required: Some(p.required),
            key: p.key,
            max_utf16: p.max_utf16,
            read_only: p.read_only,
        };
        let spec = ProfileSpec {
            name: self.name.clone(),
            odata_type: self.odata_type.clone(),
            required: None,
            properties: self.properties.iter().map(to_spec).collect(),
            complex_types: self
                .complex_types
                .iter()
                .map(|c| ComplexSpec {
                    name: c.name.clone(),
                    odata_types: c.odata_types.clone(),
                    members: c.members.iter().map(to_spec).collect(),
                })
                .collect(),
            policies: self.policies.clone(),
            routes: self.routes.clone(),
        };
        toml::to_string_pretty(&spec).unwrap_or_default()
    }
}

/// Whether a `Content-Type` value is acceptable for a create request (CONTRACT.md section
/// 3): the media type `application/json` in any case, parameters allowed, and a `charset`
/// parameter, when present, naming UTF-8.
///
/// ```
/// use devices_harness::contract::accepts_content_type;
/// assert!(accepts_content_type("Application/JSON; odata.metadata=minimal"));
/// assert!(!accepts_content_type("application/json; charset=iso-8859-1"));
/// assert!(!accepts_content_type("application/jsonx"));
/// ```
pub fn accepts_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| match param.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn resolve_table(
    specs: &[PropertySpec],
    complex_names: &[&str],
    required: Option<&[String]>,
    entity: bool,
) -> Result<Vec<PropertyDef>, ProfileError> {
    let mut out: Vec<PropertyDef> = Vec::with_capacity(specs.len());
    for s in specs {
        if s.name.is_empty() || s.name.contains('@') {
            return Err(ProfileError::BadName(s.name.clone()));
        }
        if out.iter().any(|p| p.name == s.name) {
            return Err(ProfileError::DuplicateProperty(s.name.clone()));
        }
        let (collection, inner) = match s
            .ty
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
        {
            Some(inner) => (true, inner),
            None => (false, s.ty.as_str()),
        };
        let base = if let Some(edm) = Edm::ALL.iter().find(|e| e.name() == inner) {
            Base::Primitive(*edm)
        } else if let Some(i) = complex_names.iter().position(|c| *c == inner) {
            Base::Complex(i)
        } else {
            return Err(ProfileError::UnknownType {
                property: s.name.clone(),
                ty: s.ty.clone(),
            });
        };
        let required = match required {
            Some(list) => list.contains(&s.name),
            None => s.required.unwrap_or(entity && !s.key),
        };
        out.push(PropertyDef {
            name: s.name.clone(),
            base,
            collection,
            nullable: s.nullable,
            required,
            key: s.key,
            max_utf16: s.max_utf16,
            read_only: s.read_only,
            member_prefix: member_prefix(&s.name),
        });
    }
    if let Some(list) = required
        && let Some(missing) = list.iter().find(|n| !out.iter().any(|p| p.name == **n))
    {
        return Err(ProfileError::UnknownRequired(missing.clone()));
    }
    Ok(out)
}

fn member_prefix(name: &str) -> String {
    let mut out = Vec::with_capacity(name.len() + 3);
    crate::scan::write_str(&mut out, name);
    out.push(b':');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_matches_the_contract_table() {
        let p = Profile::seed();
        assert_eq!(
            p.properties().len(),
            26,
            "the seed's 26 properties, id included"
        );
        assert_eq!(p.properties()[p.key()].name, "id");
        assert!(!p.properties()[p.key()].required);
        let required = p.properties().iter().filter(|d| d.required).count();
        assert_eq!(required, 25, "every property but id");
        let not_nullable: Vec<&str> = p
            .properties()
            .iter()
            .filter(|d| !d.nullable)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            not_nullable,
            [
                "id",
                "alternativeSecurityIds",
                "physicalIds",
                "systemLabels"
            ]
        );
        let asid = &p.complex_types()[0];
        assert_eq!(asid.members.len(), 3);
        // Each member nullable and optional: an absent member is the same as null.
        assert!(asid.members.iter().all(|m| m.nullable && !m.required));
    }

    #[test]
    fn profile_file_overrides_required_and_policies() {
        let p =
            Profile::from_toml("required = ['displayName']\n[policies]\nclient_id = 'reject'\n")
                .unwrap();
        let req: Vec<&str> = p
            .properties()
            .iter()
            .filter(|d| d.required)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(req, ["displayName"]);
        assert_eq!(p.policies().client_id, ClientId::Reject);
        // Policies not named keep the seed's.
        assert_eq!(p.policies().offset_preservation, OffsetPreservation::Exact);
    }

    #[test]
    fn bad_profiles_are_typed_errors() {
        assert!(matches!(
            Profile::from_toml("required = ['nope']"),
            Err(ProfileError::UnknownRequired(_))
        ));
        assert!(matches!(
            Profile::from_toml(
                "properties = [{ name = 'x', type = 'Edm.Float', nullable = true }]"
            ),
            Err(ProfileError::UnknownType { .. })
        ));
        assert!(matches!(
            Profile::from_toml(
                "properties = [{ name = 'x', type = 'Edm.String', nullable = true }]"
            ),
            Err(ProfileError::Key)
        ));
        assert!(matches!(
            Profile::from_toml("bogus = 1"),
            Err(ProfileError::Toml(_))
        ));
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "APPLICATION/JSON",
            "application/json;charset=utf-8",
            "application/json; charset=\"UTF-8\"",
            "application/json; odata.metadata=minimal; odata.streaming=true",
            " application/json ",
        ] {
            assert!(accepts_content_type(ok), "{ok}");
        }
        for bad in [
            "",
            "text/plain",
            "application/jsonx",
            "application/xml",
            "json",
            "application/json; charset=utf-16",
            "application/json;charset=iso-8859-1",
            "application/*",
        ] {
            assert!(!accepts_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn to_toml_round_trips() {
        for name in Profile::BUILT_IN {
            let p = Profile::built_in(name).unwrap();
            let again = Profile::from_toml(&p.to_toml()).unwrap();
            assert_eq!(&again, p, "{name}");
        }
        assert!(Profile::built_in("graph-v2").is_none());
    }

    #[test]
    fn the_graph_profiles_follow_their_pages() {
        let names = |p: &Profile, f: fn(&PropertyDef) -> bool| -> Vec<String> {
            p.properties()
                .iter()
                .filter(|d| f(d))
                .map(|d| d.name.clone())
                .collect()
        };
        let v1 = Profile::built_in("graph-v1").unwrap();
        assert_eq!(v1.properties().len(), 23);
        assert_eq!(
            names(v1, |d| d.required),
            [
                "accountEnabled",
                "displayName",
                "operatingSystem",
                "operatingSystemVersion"
            ]
        );
        assert_eq!(
            names(v1, |d| !d.nullable),
            [
                "alternativeSecurityIds",
                "id",
                "physicalIds",
                "systemLabels"
            ]
        );
        assert_eq!(names(v1, |d| d.read_only).len(), 10, "id and nine more");
        assert_eq!(v1.routes().collection, "/devices");
        assert_eq!(v1.routes().user_collection, None);
        assert_eq!(v1.routes().scope, Scope::Tenant);
        assert_eq!(v1.policies().unknown_properties, UnknownProperties::Accept);
        let ext = v1.property_index("extensionAttributes").unwrap();
        assert_eq!(v1.members_of(&v1.properties()[ext]).len(), 15);
        let beta = Profile::built_in("graph-beta").unwrap();
        assert_eq!(beta.properties().len(), 37);
        assert_eq!(
            names(beta, |d| d.required),
            ["displayName", "operatingSystem", "operatingSystemVersion"]
        );
        for name in [
            "registrationDateTime",
            "isRooted",
            "hostNames",
            "Name",
            "model",
            "Model",
        ] {
            assert!(beta.property_index(name).is_some(), "{name}");
        }
        assert!(beta.properties()[beta.property_index("registrationDateTime").unwrap()].read_only);
    }
}
