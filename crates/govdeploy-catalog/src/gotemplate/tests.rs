//! Unit tests, one group per construct. Expected outputs are what Helm (Go text/template with
//! `missingkey=zero` and sprig) produces.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::*;

fn named() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("common.name".to_string(), "tl-services".to_string());
    m.insert("name".to_string(), "svc".to_string());
    m
}

fn run(src: &str, values: &Json) -> Result<String, TemplateError> {
    let named = named();
    let ctx = TemplateContext {
        values,
        chart_name: "tl-services",
        release_name: "rel",
        release_namespace: "egov",
        named_templates: &named,
    };
    render(src, &ctx)
}

#[track_caller]
fn ok(src: &str, values: &Json) -> String {
    match run(src, values) {
        Ok(s) => s,
        Err(e) => panic!("template {src:?} failed: {e}"),
    }
}

#[track_caller]
fn fails(src: &str, values: &Json, kind: TemplateErrorKind) -> TemplateError {
    match run(src, values) {
        Ok(s) => panic!("template {src:?} rendered {s:?}, expected a {kind:?} error"),
        Err(e) => {
            assert_eq!(e.kind, kind, "wrong kind for {src:?}: {e}");
            e
        }
    }
}

fn v() -> Json {
    json!({
        "name": "tl",
        "heap": "-Xmx192m -Xms192m",
        "java-args": "-Dspring.profiles.active=monitoring",
        "tracing-enabled": true,
        "httpPort": 8080,
        "half": 0.5,
        "million": 1000000,
        "big": 123456789,
        "tiny": 0.00001,
        "zero": 0,
        "empty": "",
        "strzero": "0",
        "falsy": false,
        "nothing": null,
        "list": ["a", "b", null],
        "emptylist": [],
        "emptymap": {},
        "map": {"b": 2, "a": "x", "c": {"d": true}},
        "global": {"containerRegistry": "egovio", "setup": "quickstart"},
        "namespace": "egov",
        "extraArgs": {"zeta": "z", "alpha": "a", "off": ""},
    })
}

// ---------------------------------------------------------------------------------------
// Text, trimming, comments

#[test]
fn text_passes_through() {
    assert_eq!(ok("", &v()), "");
    assert_eq!(
        ok("plain text\n  - name: X\n", &v()),
        "plain text\n  - name: X\n"
    );
    assert_eq!(ok("a } b { c }} d", &v()), "a } b { c }} d");
}

#[test]
fn trim_markers_remove_all_adjacent_whitespace() {
    assert_eq!(ok("a  \n\t {{- \"x\" -}} \n\n b", &v()), "axb");
    assert_eq!(ok("a  {{- \"x\" }}  b", &v()), "ax  b");
    assert_eq!(ok("a  {{ \"x\" -}}  \n b", &v()), "a  xb");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(ok("a {{-3}} b", &v()), "a -3 b");
    assert_eq!(ok("a {{3 }} b", &v()), "a 3 b");
    assert_eq!(
        ok("x\n  {{- if true }}\n  y\n  {{- end }}\n", &v()),
        "x\n  y\n"
    );
}

#[test]
fn comments() {
    assert_eq!(ok("a{{/* a comment */}}b", &v()), "ab");
    assert_eq!(ok("a \n {{- /* multi\nline */ -}} \n b", &v()), "ab");
    fails("{{ /* no */ }}", &v(), TemplateErrorKind::Syntax);
    fails("{{/* x */ \"y\" }}", &v(), TemplateErrorKind::Syntax);
    fails("{{/* unclosed", &v(), TemplateErrorKind::Syntax);
}

#[test]
fn multi_line_actions() {
    assert_eq!(ok("{{ index .Values\n   \"name\" }}", &v()), "tl");
}

// ---------------------------------------------------------------------------------------
// Values, fields, printing

#[test]
fn field_chains_and_root_objects() {
    assert_eq!(ok("{{ .Values.name }}", &v()), "tl");
    assert_eq!(ok("{{ .Values.global.containerRegistry }}", &v()), "egovio");
    assert_eq!(ok("{{ $.Values.name }}", &v()), "tl");
    assert_eq!(ok("{{ .Chart.Name }}", &v()), "tl-services");
    assert_eq!(
        ok("{{ .Release.Name }}/{{ .Release.Namespace }}", &v()),
        "rel/egov"
    );
    assert_eq!(ok("{{ .Release.Service }}", &v()), "Helm");
    assert_eq!(ok("{{ (index .Values \"map\").c.d }}", &v()), "true");
}

#[test]
fn missing_values_print_nothing_but_chains_through_them_fail() {
    assert_eq!(ok("[{{ .Values.missing }}]", &v()), "[]");
    assert_eq!(ok("[{{ .Values.nothing }}]", &v()), "[]");
    assert_eq!(ok("[{{ .Release.Other }}]", &v()), "[]");
    let e = fails(
        "{{ .Values.missing.x }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(e.message.contains("nil pointer evaluating"), "{e}");
    fails("{{ .Values.name.x }}", &v(), TemplateErrorKind::Evaluation);
    // Through a variable or parentheses the missing value is an untyped nil: no error.
    assert_eq!(ok("{{ $x := .Values.missing }}[{{ $x.y }}]", &v()), "[]");
    assert_eq!(ok("[{{ (.Values.missing).y }}]", &v()), "[]");
}

#[test]
fn helm_strips_no_value_everywhere() {
    assert_eq!(ok("a<no value>b", &v()), "ab");
}

#[test]
fn numbers_print_like_go_float64() {
    assert_eq!(ok("{{ .Values.httpPort }}", &v()), "8080");
    assert_eq!(ok("{{ .Values.half }}", &v()), "0.5");
    assert_eq!(ok("{{ .Values.million }}", &v()), "1e+06");
    assert_eq!(ok("{{ .Values.big }}", &v()), "1.23456789e+08");
    assert_eq!(ok("{{ .Values.tiny }}", &v()), "1e-05");
    assert_eq!(ok("{{ .Values.zero }}", &v()), "0");
    let vals = json!({"a": 100000, "b": 999999, "c": 0.0001, "d": -2.5, "e": 1234567.5, "f": 1e21});
    assert_eq!(
        ok(
            "{{.Values.a}} {{.Values.b}} {{.Values.c}} {{.Values.d}} {{.Values.e}} {{.Values.f}}",
            &vals
        ),
        "100000 999999 0.0001 -2.5 1.2345675e+06 1e+21"
    );
    assert_eq!(ok("{{ .Values.httpPort | quote }}", &v()), "\"8080\"");
    assert_eq!(ok("{{ .Values.million | quote }}", &v()), "\"1e+06\"");
}

#[test]
fn collections_print_go_style() {
    assert_eq!(ok("{{ .Values.list }}", &v()), "[a b <nil>]");
    assert_eq!(ok("{{ .Values.map }}", &v()), "map[a:x b:2 c:map[d:true]]");
    assert_eq!(
        ok("{{ .Values.emptylist }}{{ .Values.emptymap }}", &v()),
        "[]map[]"
    );
    assert_eq!(ok("{{ .Values.falsy }} {{ true }}", &v()), "false true");
}

#[test]
fn literals() {
    assert_eq!(ok(r#"{{ "a\tb\u00e9\x41" }}"#, &v()), "a\tbéA");
    assert_eq!(ok("{{ `raw \\n {{ }}` }}", &v()), "raw \\n {{ }}");
    assert_eq!(ok("{{ 'a' }}", &v()), "97");
    assert_eq!(
        ok("{{ 42 }} {{ -7 }} {{ 1.0 }} {{ 1e3 }} {{ 1.5 }}", &v()),
        "42 -7 1 1000 1.5"
    );
    assert_eq!(
        ok("{{ 0x1F }} {{ 010 }} {{ 0b11 }} {{ 0o17 }}", &v()),
        "31 8 3 15"
    );
    assert_eq!(ok("{{ true }} {{ false }}", &v()), "true false");
    let e = fails("{{ nil }}", &v(), TemplateErrorKind::Evaluation);
    assert!(e.message.contains("nil is not a command"));
    fails(r#"{{ "unterminated }}"#, &v(), TemplateErrorKind::Syntax);
    fails(r#"{{ "bad \q escape" }}"#, &v(), TemplateErrorKind::Syntax);
    fails(
        "{{ 99999999999999999999 }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
    fails("{{ 1_000 }}", &v(), TemplateErrorKind::Unsupported);
    fails("{{ 1+2i }}", &v(), TemplateErrorKind::Unsupported);
    fails("{{ 3x }}", &v(), TemplateErrorKind::Syntax);
    fails(r#"{{ "\xff" }}"#, &v(), TemplateErrorKind::Unsupported);
}

// ---------------------------------------------------------------------------------------
// Pipelines and variables

#[test]
fn pipelines_pass_the_value_last() {
    assert_eq!(ok(r#"{{ "x" | quote }}"#, &v()), "\"x\"");
    assert_eq!(ok(r#"{{ .Values.name | upper | quote }}"#, &v()), "\"TL\"");
    assert_eq!(ok(r#"{{ quote (upper "a") "b" }}"#, &v()), "\"A\" \"b\"");
    assert_eq!(ok(r#"{{ "a-b" | replace "-" "_" }}"#, &v()), "a_b");
    assert_eq!(ok(r#"{{ "x" | printf "%s-%s" "y" }}"#, &v()), "y-x");
    fails("{{ 1 | 2 }}", &v(), TemplateErrorKind::Syntax);
    fails("{{ }}", &v(), TemplateErrorKind::Syntax);
    fails(
        r#"{{ "x" | .Values.name }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ .Values.name "x" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(r#"{{ "a" "b" }}"#, &v(), TemplateErrorKind::Evaluation);
}

#[test]
fn variables() {
    assert_eq!(
        ok(r#"{{ $x := "a" }}{{ $x }}{{ $x = "b" }}{{ $x }}"#, &v()),
        "ab"
    );
    assert_eq!(
        ok(r#"{{ $m := .Values.map }}{{ $m.a }}{{ $m.c.d }}"#, &v()),
        "xtrue"
    );
    fails("{{ $undefined }}", &v(), TemplateErrorKind::Syntax);
    // Variables declared inside a control structure end with it.
    fails(
        r#"{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}"#,
        &v(),
        TemplateErrorKind::Syntax,
    );
    assert_eq!(
        ok(
            r#"{{ $y := 1 }}{{ if true }}{{ $y = 2 }}{{ end }}{{ $y }}"#,
            &v()
        ),
        "2"
    );
    fails(
        "{{ $a, $b := .Values.list }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
}

// ---------------------------------------------------------------------------------------
// Functions

#[test]
fn index_function() {
    assert_eq!(
        ok(r#"{{ index .Values "heap" | quote }}"#, &v()),
        "\"-Xmx192m -Xms192m\""
    );
    assert_eq!(
        ok(r#"{{ index .Values "global" "setup" }}"#, &v()),
        "quickstart"
    );
    assert_eq!(
        ok(r#"[{{ index .Values "global" "missing" }}]"#, &v()),
        "[]"
    );
    assert_eq!(ok(r#"[{{ index .Values "missing" | quote }}]"#, &v()), "[]");
    assert_eq!(ok(r#"{{ index .Values.list 1 }}"#, &v()), "b");
    assert_eq!(ok(r#"{{ index $.Values "map" "c" "d" }}"#, &v()), "true");
    assert_eq!(ok(r#"{{ index .Values }}"#, &json!({"a": 1})), "map[a:1]");
    let e = fails(
        r#"{{ index .Values "missing" "x" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(e.message.contains("index of nil pointer"), "{e}");
    fails(
        r#"{{ index .Values.list 5 }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ index .Values.list .Values.zero }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ index .Values.missing "x" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ index .Values 1 }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
}

#[test]
fn quote_and_squote() {
    assert_eq!(ok(r#"{{ quote "a\"b\n" }}"#, &v()), r#""a\"b\n""#);
    assert_eq!(
        ok(r#"{{ quote "é\u00a0\u200b" }}"#, &v()),
        "\"é\\u00a0\\u200b\""
    );
    assert_eq!(ok(r#"{{ squote "x" }}"#, &v()), "'x'");
    assert_eq!(ok(r#"[{{ quote .Values.missing }}]"#, &v()), "[]");
    assert_eq!(ok(r#"[{{ .Values.nothing | quote }}]"#, &v()), "[]");
    assert_eq!(
        ok(r#"{{ quote 1 .Values.missing "b" true }}"#, &v()),
        "\"1\" \"b\" \"true\""
    );
    assert_eq!(ok(r#"{{ .Values.list | quote }}"#, &v()), "\"[a b <nil>]\"");
    // `nil` cannot start a pipeline in Go.
    fails("{{ nil | quote }}", &v(), TemplateErrorKind::Evaluation);
}

#[test]
fn default_and_empty() {
    assert_eq!(ok(r#"{{ default "d" .Values.missing }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ .Values.empty | default "d" }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ .Values.zero | default "d" }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ .Values.falsy | default "d" }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ .Values.emptylist | default "d" }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ .Values.strzero | default "d" }}"#, &v()), "0");
    assert_eq!(ok(r#"{{ .Values.name | default "d" }}"#, &v()), "tl");
    assert_eq!(ok(r#"{{ default "d" }}"#, &v()), "d");
    assert_eq!(
        ok(r#"{{ default "" .Values.missing | quote }}"#, &v()),
        "\"\""
    );
    assert_eq!(
        ok(
            r#"{{ empty .Values.empty }} {{ empty .Values.map }} {{ empty .Values.missing }}"#,
            &v()
        ),
        "true false true"
    );
    assert_eq!(ok(r#"{{ default "a" "b" "c" | quote }}"#, &v()), "\"b\"");
}

#[test]
fn comparisons() {
    assert_eq!(
        ok(
            r#"{{ eq .Values.namespace "egov" }} {{ ne .Values.namespace "egov" }}"#,
            &v()
        ),
        "true false"
    );
    assert_eq!(ok(r#"{{ eq .Values.missing "health" }}"#, &v()), "false");
    assert_eq!(ok(r#"{{ eq "b" "a" "b" }}"#, &v()), "true");
    assert_eq!(ok(r#"{{ eq .Values.httpPort 8080.0 }}"#, &v()), "true");
    assert_eq!(
        ok(
            r#"{{ eq nil nil }} {{ eq .Values.missing .Values.nothing }}"#,
            &v()
        ),
        "true true"
    );
    // float64 from values vs int literal: Helm fails.
    let e = fails(
        r#"{{ eq .Values.httpPort 8080 }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(e.message.contains("incompatible types"), "{e}");
    fails(
        r#"{{ eq .Values.map .Values.map }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert_eq!(
        ok("{{ lt 1 2 }} {{ gt 1 2 }} {{ le 2 2 }} {{ ge 1 2 }}", &v()),
        "true false true false"
    );
    assert_eq!(
        ok(r#"{{ lt "a" "b" }} {{ lt .Values.half 1.0 }}"#, &v()),
        "true true"
    );
    fails(
        "{{ lt .Values.missing 1 }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails("{{ lt true false }}", &v(), TemplateErrorKind::Evaluation);
    fails("{{ eq 1 }}", &v(), TemplateErrorKind::Evaluation);
}

#[test]
fn and_or_not_return_the_deciding_operand() {
    assert_eq!(ok(r#"{{ or .Values.missing "d" }}"#, &v()), "d");
    assert_eq!(ok(r#"{{ or .Values.empty .Values.zero }}"#, &v()), "0");
    assert_eq!(
        ok("{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 3 }}", &v()),
        "0 2 3"
    );
    // Short-circuit: the failing second operand is never evaluated.
    assert_eq!(ok(r#"{{ or 1 (index .Values "missing" "x") }}"#, &v()), "1");
    assert_eq!(
        ok(r#"{{ and 0 (index .Values "missing" "x") }}"#, &v()),
        "0"
    );
    assert_eq!(ok(r#"{{ "x" | and 1 }}"#, &v()), "x");
    assert_eq!(
        ok(r#"{{ not .Values.missing }} {{ not .Values.name }}"#, &v()),
        "true false"
    );
    assert_eq!(
        ok(
            r#"{{ if or .Values.config.existingConfig .Values.config.configFile }}y{{ else }}n{{ end }}"#,
            &json!({"config": {"configFile": "f"}})
        ),
        "y"
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        ok(
            r#"{{ trim "  a b \n" }}|{{ upper "aé" }}|{{ lower "AÉ" }}"#,
            &v()
        ),
        "a b|AÉ|aé"
    );
    assert_eq!(ok(r#"{{ "a.b.c" | replace "." "-" }}"#, &v()), "a-b-c");
    assert_eq!(
        ok(
            r#"{{ "name.yaml" | trimSuffix ".yaml" }} {{ "v1.2" | trimPrefix "v" }}"#,
            &v()
        ),
        "name 1.2"
    );
    assert_eq!(ok(r#"{{ "name" | trimSuffix "x" }}"#, &v()), "name");
    assert_eq!(
        ok(
            r#"{{ contains "ab" "xaby" }} {{ "xaby" | contains "z" }}"#,
            &v()
        ),
        "true false"
    );
    assert_eq!(
        ok(
            r#"{{ b64enc "hello" }} {{ b64enc "" }} {{ b64enc "ab" }}"#,
            &v()
        ),
        "aGVsbG8=  YWI="
    );
    assert_eq!(
        ok(
            r#"{{ hasKey .Values "name" }} {{ hasKey .Values "nope" }} {{ hasKey .Values "nothing" }}"#,
            &v()
        ),
        "true false true"
    );
    // sprig functions take typed parameters: a float64 or a nil is not a string.
    let e = fails(
        "{{ .Values.httpPort | upper }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(
        e.message
            .contains("wrong type for value; expected string; got float64"),
        "{e}"
    );
    let e = fails(
        "{{ .Values.missing | upper }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(e.message.contains("invalid value; expected string"), "{e}");
    fails(
        "{{ upper .Values.missing }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails("{{ upper 1 }}", &v(), TemplateErrorKind::Evaluation);
    fails(
        r#"{{ hasKey .Values.missing "a" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
}

#[test]
fn indent_and_nindent() {
    assert_eq!(ok(r#"{{ "a\nb" | indent 2 }}"#, &v()), "  a\n  b");
    assert_eq!(
        ok(r#"x:{{ "a\nb" | nindent 4 }}"#, &v()),
        "x:\n    a\n    b"
    );
    assert_eq!(
        ok(r#"{{ include "common.name" . | nindent 2 }}"#, &v()),
        "\n  tl-services"
    );
    fails(
        r#"{{ "a" | indent .Values.httpPort }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ "a" | indent -1 }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ "a" | indent "2" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
}

#[test]
fn printf_and_print() {
    assert_eq!(
        ok(
            r#"{{ printf "%s=%d %v %q %%" "a" 3 .Values.half "q" }}"#,
            &v()
        ),
        "a=3 0.5 \"q\" %"
    );
    assert_eq!(ok(r#"{{ printf "%s-%s" "a" }}"#, &v()), "a-%!s(MISSING)");
    assert_eq!(
        ok(r#"{{ printf "%s" "a" 1 .Values.missing }}"#, &v()),
        "a%!(EXTRA int=1, <nil>)"
    );
    assert_eq!(
        ok(r#"{{ printf "%d %s" .Values.httpPort 5 }}"#, &v()),
        "%!d(float64=8080) %!s(int=5)"
    );
    assert_eq!(
        ok(r#"{{ printf "%v %s" .Values.list .Values.missing }}"#, &v()),
        "[a b <nil>] %!s(<nil>)"
    );
    assert_eq!(ok(r#"{{ printf "%q" 65 }}"#, &v()), "'A'");
    assert_eq!(
        ok(r#"{{ printf "%v" .Values.map }}"#, &v()),
        "map[a:x b:2 c:map[d:true]]"
    );
    fails(
        r#"{{ printf "%5d" 3 }}"#,
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        r#"{{ printf "%x" 3 }}"#,
        &v(),
        TemplateErrorKind::Unsupported,
    );
    assert_eq!(
        ok(
            r#"{{ print 1 2 }}|{{ print "a" "b" }}|{{ print "a" 1 2 "b" }}"#,
            &v()
        ),
        "1 2|ab|a1 2b"
    );
    assert_eq!(ok(r#"{{ print .Values.missing }}"#, &v()), "<nil>");
    assert_eq!(ok(r#"{{ println "a" 1 }}"#, &v()), "a 1\n");
}

#[test]
fn to_yaml() {
    let vals = json!({
        "m": {"b": 1, "a": "8080", "c": [1, "x", {"k": "v", "j": null}], "d": {}, "e": [], "f": {"g": true}},
        "s": "a: b", "yes": "yes", "empty": "", "ml": "line1\nline2\n", "ml2": "a\n\nb",
        "num": 1000000, "half": 0.5, "small": 0.00000015, "keys": {"a10": 1, "a9": 2, "B": 3, "_x": 4},
        "long": "word ".repeat(20),
        "tab": "a\tb", "lead": " x", "date": "2021-01-31", "hash": "a #b", "dash": "- x", "star": "*x",
        "nested": [[1, 2], []],
    });
    assert_eq!(
        ok("{{ toYaml .Values.m }}", &vals),
        "a: \"8080\"\nb: 1\nc:\n- 1\n- x\n- j: null\n  k: v\nd: {}\ne: []\nf:\n  g: true"
    );
    assert_eq!(ok("{{ toYaml .Values.s }}", &vals), "'a: b'");
    assert_eq!(ok("{{ toYaml .Values.yes }}", &vals), "\"yes\"");
    assert_eq!(ok("{{ toYaml .Values.empty }}", &vals), "\"\"");
}

#[test]
fn to_yaml_scalars_and_blocks() {
    let vals = json!({
        "ml": "line1\nline2\n", "ml2": "a\n\nb", "num": 1000000, "half": 0.5, "small": 0.00000015,
        "keys": {"a10": 1, "a9": 2, "B": 3, "_x": 4, "b": 5},
        "long": "word ".repeat(20), "tab": "a\tb", "lead": " x", "date": "2021-01-31",
        "hash": "a #b", "dash": "- x", "star": "*x", "nested": [[1, 2], []], "nothing": null,
        "wrap": {"k": "line1\nline2"}, "big": 1e20,
    });
    assert_eq!(ok("{{ toYaml .Values.ml }}", &vals), "|\n  line1\n  line2");
    assert_eq!(
        ok("{{ toYaml .Values.wrap }}", &vals),
        "k: |-\n  line1\n  line2"
    );
    assert_eq!(ok("{{ toYaml .Values.ml2 }}", &vals), "|-\n  a\n\n  b");
    assert_eq!(ok("{{ toYaml .Values.num }}", &vals), "1000000");
    assert_eq!(ok("{{ toYaml .Values.half }}", &vals), "0.5");
    assert_eq!(ok("{{ toYaml .Values.small }}", &vals), "1.5e-07");
    assert_eq!(ok("{{ toYaml .Values.big }}", &vals), "1e+20");
    assert_eq!(
        ok("{{ toYaml .Values.keys }}", &vals),
        "_x: 4\nB: 3\na9: 2\na10: 1\nb: 5"
    );
    assert_eq!(ok("{{ toYaml .Values.tab }}", &vals), "\"a\\tb\"");
    assert_eq!(ok("{{ toYaml .Values.lead }}", &vals), "' x'");
    assert_eq!(ok("{{ toYaml .Values.date }}", &vals), "\"2021-01-31\"");
    assert_eq!(ok("{{ toYaml .Values.hash }}", &vals), "'a #b'");
    assert_eq!(ok("{{ toYaml .Values.dash }}", &vals), "'- x'");
    assert_eq!(ok("{{ toYaml .Values.star }}", &vals), "'*x'");
    assert_eq!(
        ok("{{ toYaml .Values.nested }}", &vals),
        "- - 1\n  - 2\n- []"
    );
    assert_eq!(ok("{{ toYaml .Values.nothing }}", &vals), "null");
    assert_eq!(
        ok(
            "{{ toYaml 3 }} {{ toYaml true }} {{ toYaml \"8080\" }}",
            &vals
        ),
        "3 true \"8080\""
    );
    fails(
        "{{ toYaml .Values.long }}",
        &vals,
        TemplateErrorKind::Unsupported,
    );
    fails("{{ toYaml . }}", &vals, TemplateErrorKind::Unsupported);
}

#[test]
fn to_json() {
    let vals =
        json!({"m": {"b": [true, null, "x<y&\"z\"\n"], "a": 1, "c": 0.5, "d": 1e21, "e": 1e-7}});
    assert_eq!(
        ok("{{ toJson .Values.m }}", &vals),
        r#"{"a":1,"b":[true,null,"x\u003cy\u0026\"z\"\n"],"c":0.5,"d":1e+21,"e":1e-7}"#
    );
    assert_eq!(
        ok("{{ toJson .Values.missing }} {{ toJson 3 }}", &vals),
        "null 3"
    );
}

#[test]
fn required() {
    assert_eq!(ok(r#"{{ required "need name" .Values.name }}"#, &v()), "tl");
    assert_eq!(
        ok(r#"{{ .Values.zero | required "need zero" }}"#, &v()),
        "0"
    );
    let e = fails(
        r#"{{ required "name is required" .Values.missing }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert_eq!(e.message, "name is required");
    let e = fails(
        r#"{{ .Values.empty | required "empty!" }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert_eq!(e.message, "empty!");
}

#[test]
fn unsupported_and_unknown_functions() {
    let e = fails(
        "{{ tpl .Values.x . }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    assert_eq!(e.construct, "{{ tpl .Values.x . }}");
    assert!(e.message.contains("tpl"));
    fails("{{ list 1 2 }}", &v(), TemplateErrorKind::Unsupported);
    let e = fails("{{ nosuchfunc 1 }}", &v(), TemplateErrorKind::Syntax);
    assert!(e.message.contains("not defined"));
    fails("{{ env \"HOME\" }}", &v(), TemplateErrorKind::Syntax);
    fails(
        "{{ define \"x\" }}y{{ end }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        "{{ block \"x\" . }}y{{ end }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        "{{ range .Values.list }}{{ break }}{{ end }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails("{{ .Chart.Version }}", &v(), TemplateErrorKind::Unsupported);
    fails(
        "{{ .Capabilities.KubeVersion }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        "{{ .Release.IsInstall }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails("{{ . }}", &v(), TemplateErrorKind::Unsupported);
    fails("{{ .Chart.name }}", &v(), TemplateErrorKind::Evaluation);
}

#[test]
fn named_templates() {
    assert_eq!(ok(r#"{{ template "common.name" . }}"#, &v()), "tl-services");
    assert_eq!(ok(r#"{{ include "name" $ | quote }}"#, &v()), "\"svc\"");
    assert_eq!(
        ok(
            r#"{{ with .Values.map }}{{ template "name" $ }}{{ end }}"#,
            &v()
        ),
        "svc"
    );
    let e = fails(
        r#"{{ template "nope" . }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    assert!(e.message.contains("nope"));
    fails(
        r#"{{ include "nope" . }}"#,
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        r#"{{ with .Values.map }}{{ template "name" . }}{{ end }}"#,
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        r#"{{ include "name" .Values }}"#,
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        r#"{{ template "name" }}"#,
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        r#"{{ template .Values.x . }}"#,
        &v(),
        TemplateErrorKind::Syntax,
    );
}

// ---------------------------------------------------------------------------------------
// Control structures

#[test]
fn if_else_if_else() {
    let t = r#"{{ if eq .Values.namespace "health" }}h{{ else if .Values.missing }}m{{ else if index .Values "tracing-enabled" }}t{{ else }}e{{ end }}"#;
    assert_eq!(ok(t, &v()), "t");
    assert_eq!(ok(t, &json!({"namespace": "health"})), "h");
    assert_eq!(ok(t, &json!({"namespace": "x"})), "e");
    assert_eq!(ok("{{ if .Values.strzero }}y{{ end }}", &v()), "y");
    fails("{{ if true }}x", &v(), TemplateErrorKind::Syntax);
    fails("{{ end }}", &v(), TemplateErrorKind::Syntax);
    fails("{{ else }}", &v(), TemplateErrorKind::Syntax);
    fails(
        "{{ if true }}a{{ else }}b{{ else }}c{{ end }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
    fails("{{ if }}a{{ end }}", &v(), TemplateErrorKind::Syntax);
    fails("{{ if true }}a{{ end x }}", &v(), TemplateErrorKind::Syntax);
}

#[test]
fn truthiness() {
    let t = "{{ if .Values.x }}T{{ else }}F{{ end }}";
    for (x, want) in [
        (json!(false), "F"),
        (json!(0), "F"),
        (json!(0.0), "F"),
        (json!(null), "F"),
        (json!(""), "F"),
        (json!([]), "F"),
        (json!({}), "F"),
        (json!(true), "T"),
        (json!(0.1), "T"),
        (json!("false"), "T"),
        (json!("0"), "T"),
        (json!([0]), "T"),
        (json!({"a": null}), "T"),
    ] {
        assert_eq!(ok(t, &json!({ "x": x })), want, "value {x}");
    }
    assert_eq!(ok(t, &json!({})), "F");
}

#[test]
fn with_rebinds_dot() {
    assert_eq!(
        ok(
            "{{ with .Values.map }}{{ .a }}-{{ $.Values.name }}{{ end }}",
            &v()
        ),
        "x-tl"
    );
    assert_eq!(
        ok(
            "{{ with .Values.missing }}{{ .a }}{{ else }}none{{ end }}",
            &v()
        ),
        "none"
    );
    assert_eq!(
        ok("{{ with $m := .Values.map }}{{ $m.b }}{{ end }}", &v()),
        "2"
    );
    assert_eq!(
        ok(
            "{{ with .Values.missing }}a{{ else with .Values.name }}{{ . }}{{ end }}",
            &v()
        ),
        "tl"
    );
    fails(
        "{{ with .Values.x }}a{{ else if true }}b{{ end }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
}

#[test]
fn range_over_lists_and_maps() {
    assert_eq!(
        ok("{{ range .Values.list }}[{{ . }}]{{ end }}", &v()),
        "[a][b][]"
    );
    assert_eq!(
        ok(
            "{{ range $i, $e := .Values.list }}{{ $i }}={{ $e }};{{ end }}",
            &v()
        ),
        "0=a;1=b;2=;"
    );
    assert_eq!(
        ok("{{ range $e := .Values.list }}{{ $e }}{{ end }}", &v()),
        "ab"
    );
    assert_eq!(
        ok(
            "{{- range $key, $value := .Values.extraArgs }}\n- --{{ $key }}{{- if $value }}={{ $value }}{{- end }}\n{{- end }}",
            &v()
        ),
        "\n- --alpha=a\n- --off\n- --zeta=z"
    );
    assert_eq!(
        ok("{{ range .Values.map }}{{ . }},{{ end }}", &v()),
        "x,2,map[d:true],"
    );
    assert_eq!(
        ok(
            "{{ range .Values.emptylist }}x{{ else }}empty{{ end }}",
            &v()
        ),
        "empty"
    );
    assert_eq!(
        ok("{{ range .Values.missing }}x{{ else }}none{{ end }}", &v()),
        "none"
    );
    assert_eq!(
        ok("{{ range .Values.list }}{{ $.Values.name }}{{ end }}", &v()),
        "tltltl"
    );
    fails(
        "{{ range .Values.name }}x{{ end }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        "{{ range .Values.list }}{{ .x }}{{ end }}",
        &v(),
        TemplateErrorKind::Evaluation,
    );
    fails(
        "{{ range 3 }}x{{ end }}",
        &v(),
        TemplateErrorKind::Unsupported,
    );
    fails(
        "{{ range .Values.list }}a{{ else if true }}b{{ end }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
    fails(
        "{{ range $a, $b, $c := .Values.list }}{{ end }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn error_positions_point_at_the_action() {
    let src = "line one\n  - name: X\n    value: {{ tpl .Values.x . }}\n";
    let e = fails(src, &v(), TemplateErrorKind::Unsupported);
    assert_eq!((e.line, e.col), (3, 12));
    assert_eq!(e.construct, "{{ tpl .Values.x . }}");
    let shown = e.to_string();
    assert!(shown.starts_with("line 3, column 12: "), "{shown}");

    let src = "é {{ if true }}\nx\n{{ .Values.missing.y }}{{ end }}";
    let e = fails(src, &v(), TemplateErrorKind::Evaluation);
    assert_eq!((e.line, e.col), (3, 1));
    assert_eq!(e.construct, "{{ .Values.missing.y }}");

    let e = fails("ab\n  {{ if true }}x", &v(), TemplateErrorKind::Syntax);
    assert_eq!((e.line, e.col), (2, 3));
    assert_eq!(e.construct, "{{ if true }}");

    let e = fails("a {{ .Values.name", &v(), TemplateErrorKind::Syntax);
    assert_eq!((e.line, e.col), (1, 3));
    assert!(e.message.contains("unclosed action"));

    let e = fails(
        "{{ if true }}\n{{ else }}\n{{ else }}{{ end }}",
        &v(),
        TemplateErrorKind::Syntax,
    );
    assert_eq!(e.line, 3);
}

#[test]
fn never_panics_on_garbage() {
    let pieces = [
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "\n",
        "\"",
        "`",
        "'",
        "(",
        ")",
        "|",
        ":=",
        "=",
        ",",
        ".",
        "$",
        "$x",
        ".Values",
        ".a",
        "if",
        "else",
        "end",
        "range",
        "with",
        "template",
        "define",
        "nil",
        "true",
        "1",
        "-",
        "0x",
        "1e",
        "é",
        "\\",
        "/*",
        "*/",
        "index",
        "quote",
        "toYaml",
        "default",
        "printf",
        "%d",
        "eq",
        "and",
        "}",
        "{",
        "\t",
        "\u{0}",
        "\u{2028}",
        "\u{ffff}",
        "include",
        "\"common.name\"",
        "$k, $v",
        "1.5",
        "'a'",
        "'\\x'",
        "\"\\u12\"",
        "..",
    ];
    let values = v();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        let mut src = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 12) as usize + 1;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let _ = run(&src, &values);
        if let Ok(t) = parse(&src) {
            let _ = t.values_paths();
        }
    }
    // Raw byte soup decoded lossily.
    for i in 0..2_000u32 {
        let bytes: Vec<u8> = (0..40).map(|j| ((i * 31 + j * 17) % 256) as u8).collect();
        let src = String::from_utf8_lossy(&bytes).into_owned();
        let _ = run(&format!("{{{{{src}}}}}"), &values);
        let _ = run(&src, &values);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    fails(&parens, &v(), TemplateErrorKind::Unsupported);
    let ifs = format!(
        "{}x{}",
        "{{ if true }}".repeat(5000),
        "{{ end }}".repeat(5000)
    );
    fails(&ifs, &v(), TemplateErrorKind::Unsupported);
    assert_eq!(
        ok(
            &format!("{{{{ {}1{} }}}}", "(".repeat(50), ")".repeat(50)),
            &v()
        ),
        "1"
    );
    // Deeply nested values.
    let mut deep = json!(1);
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let vals = json!({ "d": deep });
    fails("{{ .Values.d }}", &vals, TemplateErrorKind::Unsupported);
    fails(
        "{{ toYaml .Values.d }}",
        &vals,
        TemplateErrorKind::Unsupported,
    );
    fails(
        "{{ toJson .Values.d }}",
        &vals,
        TemplateErrorKind::Unsupported,
    );
}

#[test]
fn odd_values_roots_do_not_panic() {
    for values in [json!(null), json!(3), json!("s"), json!([1])] {
        let _ = run(
            "{{ .Values.a }}{{ index .Values \"a\" }}{{ toYaml .Values }}",
            &values,
        );
    }
    assert_eq!(ok("[{{ .Values.a }}]", &json!(null)), "[]");
}

// ---------------------------------------------------------------------------------------
// values_paths

fn paths(src: &str) -> Vec<Vec<String>> {
    match parse(src) {
        Ok(t) => t.values_paths(),
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn p(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|s| s.to_string()).collect()
}

#[test]
fn values_paths_lists_every_read() {
    let src = r#"
{{ index .Values "heap" | quote }}
{{- if index .Values "global" "serializers-timezone-in-ist" }}x{{ end }}
{{ .Values.memory_limits | quote }} {{ $.Values.name }} {{ .Chart.Name }}
{{ index $.Values "cluster-configs" "configmaps" "egov-config" "data" "kafka-brokers" }}
{{ with .Values.ingress }}{{ .context }}{{ end }}
{{ $x := .Values.a }}{{ $x.b }}
{{ range $k, $v := .Values.extraArgs }}{{ $v.ignored }}{{ end }}
{{ default "d" .Values.heap }}{{ (index .Values "m").n }}
{{ if eq (index .Values "master-password-provider") "software" }}{{ end }}
"#;
    assert_eq!(
        paths(src),
        vec![
            p(&["a"]),
            p(&["a", "b"]),
            p(&[
                "cluster-configs",
                "configmaps",
                "egov-config",
                "data",
                "kafka-brokers"
            ]),
            p(&["extraArgs"]),
            p(&["global", "serializers-timezone-in-ist"]),
            p(&["heap"]),
            p(&["ingress"]),
            p(&["ingress", "context"]),
            p(&["m"]),
            p(&["m", "n"]),
            p(&["master-password-provider"]),
            p(&["memory_limits"]),
            p(&["name"]),
        ]
    );
    assert_eq!(paths("{{ toYaml .Values }}"), vec![Vec::<String>::new()]);
    assert_eq!(
        paths(r#"{{ index .Values "a" $.Values.k }}"#),
        vec![p(&["a"]), p(&["k"])]
    );
    assert!(paths("plain").is_empty());
}
