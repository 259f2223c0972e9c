//! The OpenAPI 3.1 description of the contract, generated from the property table, so
//! that other tools (Schemathesis, Postman) can be pointed at the server. The copy in the
//! repository (`openapi.json`) is checked against this and against the routes by tests.

use serde_json::{Map, Value, json};

use crate::contract::{Base, Edm, Profile, PropertyDef};

fn schema_of(profile: &Profile, def: &PropertyDef) -> Value {
    let base = match def.base {
        Base::Primitive(Edm::String) => match def.max_utf16 {
            Some(max) => {
                json!({"type": "string", "description": format!("At most {max} UTF-16 code units.")})
            }
            None => json!({"type": "string"}),
        },
        Base::Primitive(Edm::Boolean) => json!({"type": "boolean"}),
        Base::Primitive(Edm::Int32) => {
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        Base::Primitive(Edm::DateTimeOffset) => json!({
            "type": "string",
            "format": "date-time",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})$"
        }),
        Base::Primitive(Edm::Binary) => json!({"type": "string", "contentEncoding": "base64"}),
        Base::Primitive(Edm::Guid) => json!({"type": "string", "format": "uuid"}),
        Base::Complex(i) => {
            let name = profile
                .complex_types()
                .get(i)
                .map_or("?", |c| c.name.as_str());
            json!({"$ref": format!("#/components/schemas/{name}")})
        }
    };
    let item = if def.collection {
        json!({"type": "array", "items": base})
    } else {
        base
    };
    let mut schema = if def.nullable {
        json!({"oneOf": [item, {"type": "null"}]})
    } else {
        item
    };
    if def.read_only {
        schema["readOnly"] = json!(true);
    }
    schema
}

fn object_schema(profile: &Profile, members: &[PropertyDef], odata_types: &[String]) -> Value {
    let mut properties = Map::new();
    if !odata_types.is_empty() {
        properties.insert(
            "@odata.type".into(),
            json!({"type": "string", "enum": odata_types}),
        );
    }
    for m in members {
        properties.insert(m.name.clone(), schema_of(profile, m));
    }
    let required: Vec<&str> = members
        .iter()
        .filter(|m| m.required)
        .map(|m| m.name.as_str())
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "patternProperties": {"@": {"description": "Annotations (names with '@') are accepted and ignored."}},
        "additionalProperties": false
    })
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}})
}

/// The document for `profile`.
pub fn document(profile: &Profile) -> Value {
    let mut schemas = Map::new();
    schemas.insert(
        "device".into(),
        object_schema(
            profile,
            profile.properties(),
            &[profile.odata_type().to_owned()],
        ),
    );
    for c in profile.complex_types() {
        schemas.insert(
            c.name.clone(),
            object_schema(profile, &c.members, &c.odata_types),
        );
    }
    schemas.insert("error".into(), json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "innerError": {"type": "object", "properties": {
                "date": {"type": "string"}, "request-id": {"type": "string"}, "client-request-id": {"type": "string"}}}}}}
    }));
    schemas.insert("deviceList".into(), json!({
        "type": "object",
        "required": ["value"],
        "properties": {"value": {"type": "array", "items": {"$ref": "#/components/schemas/device"}},
                       "@odata.nextLink": {"type": "string"}, "@odata.context": {"type": "string"}}
    }));
    let device = json!({"application/json": {"schema": {"$ref": "#/components/schemas/device"}}});
    let common_errors = |ok: Value| {
        let mut r = ok.as_object().cloned().unwrap_or_default();
        for (code, d) in [
            ("401", "Missing, empty or unknown token"),
            ("403", "Another user's path"),
            ("404", "No such device"),
            ("429", "Rate limited (when configured)"),
        ] {
            r.insert(code.into(), error_response(d));
        }
        Value::Object(r)
    };
    let create = |op: &str| {
        json!({
            "operationId": op,
            "requestBody": {"required": true, "content": device},
            "responses": common_errors(json!({
                "201": {"description": "Created", "headers": {"Location": {"schema": {"type": "string"}}}, "content": device},
                "400": error_response("Not a valid device (BadRequest / Request_BadRequest)"),
                "409": error_response("The client-supplied id exists"),
                "413": error_response("Body over 4 MiB"),
                "415": error_response("Not application/json in UTF-8"),
            }))
        })
    };
    let list = |op: &str| {
        json!({
            "operationId": op,
            "parameters": [
                {"name": "$top", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 999}},
                {"name": "$skiptoken", "in": "query", "schema": {"type": "string"}}],
            "responses": common_errors(json!({
                "200": {"description": "A page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/deviceList"}}}},
                "400": error_response("Bad query option")}))
        })
    };
    let read = |op: &str| json!({"operationId": op, "responses": common_errors(json!({"200": {"description": "The device", "content": device}}))});
    let delete = |op: &str| json!({"operationId": op, "responses": common_errors(json!({"204": {"description": "Deleted"}}))});
    let user = json!({"name": "usersId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    // The profile's routes: the collection, and a user's when it has one.
    let routes = profile.routes();
    let mut paths = Map::new();
    let mut item = json!({"parameters": [id.clone()], "get": read("getMyDevice")});
    if routes.delete {
        item["delete"] = delete("deleteMyDevice");
    }
    paths.insert(
        routes.collection.clone(),
        json!({"post": create("createMyDevice"), "get": list("listMyDevices")}),
    );
    paths.insert(format!("{}/{{id}}", routes.collection), item);
    if let Some(users) = &routes.user_collection {
        let users = users.replace(crate::contract::USER_ID, "{usersId}");
        let mut item = json!({"parameters": [user.clone(), id], "get": read("getUserDevice")});
        if routes.delete {
            item["delete"] = delete("deleteUserDevice");
        }
        paths.insert(
            users.clone(),
            json!({"parameters": [user], "post": create("createUserDevice"), "get": list("listUserDevices")}),
        );
        paths.insert(format!("{users}/{{id}}"), item);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "devices (Microsoft Graph Create devices contract)", "version": env!("CARGO_PKG_VERSION"),
                 "description": format!("Generated by devices-harness from the '{}' profile.", profile.name())},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}
