use serde_json::json;

use super::render;

/// What calicoctl hands its template: one list per kind fetched.
fn peers() -> serde_json::Value {
    json!([{
        "apiVersion": "projectcalico.org/v3",
        "kind": "BGPPeerList",
        "metadata": {"resourceVersion": "7"},
        "items": [
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
             "metadata": {"name": "rack1-tor", "labels": {"rack": "1", "role": "tor"}},
             "spec": {"peerIP": "10.0.0.254", "asNumber": 65001, "filters": ["f1", "f2"]}},
            {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
             "metadata": {"name": "rr"},
             "spec": {"peerIP": "10.0.0.1", "asNumber": 64512, "node": "n1"}}
        ]
    }])
}

#[test]
fn go_field_names_walk_the_documents() {
    let template = "{{range .}}{{range .Items}}{{.ObjectMeta.Name}} {{.Spec.PeerIP}} {{.Spec.ASNumber}}\n{{end}}{{end}}";
    assert_eq!(
        render(template, &peers()).unwrap(),
        "rack1-tor 10.0.0.254 65001\nrr 10.0.0.1 64512\n"
    );
    // Promoted fields of the embedded ObjectMeta and TypeMeta, and
    // kubectl-style lower case.
    assert_eq!(
        render(
            "{{range (index . 0).items}}{{.Name}}/{{.Kind}}/{{.TypeMeta.APIVersion}},{{end}}",
            &peers()
        )
        .unwrap(),
        "rack1-tor/BGPPeer/projectcalico.org/v3,rr/BGPPeer/projectcalico.org/v3,"
    );
}

#[test]
fn conditions_variables_and_functions() {
    let data = peers();
    let template = r#"{{- range $list := . -}}
{{- range $index, $peer := $list.Items -}}
{{ $index }}:{{ $peer.Metadata.Name }}{{ if $peer.Spec.Node }} node={{ $peer.Spec.Node }}{{ else }} global{{ end }}
{{ end -}}
{{- end -}}"#;
    assert_eq!(
        render(template, &data).unwrap(),
        "0:rack1-tor global\n1:rr node=n1\n"
    );
    assert_eq!(
        render(
            r#"{{with index . 0}}{{len .Items}} peers, rv {{.Metadata.ResourceVersion}}{{end}}"#,
            &data
        )
        .unwrap(),
        "2 peers, rv 7"
    );
    assert_eq!(
        render(r#"{{range (index . 0).Items}}{{if eq .Spec.ASNumber 65001 64999}}{{printf "%-12s|" .Name}}{{else if gt .Spec.ASNumber 60000}}{{printf "%q" .Name}}{{end}}{{end}}"#, &data).unwrap(),
        "rack1-tor   |\"rr\""
    );
    // Maps range in key order, with key and value.
    assert_eq!(
        render(r#"{{range $key, $value := (index (index . 0).Items 0).Metadata.Labels}}{{$key}}={{$value}};{{end}}"#, &data).unwrap(),
        "rack=1;role=tor;"
    );
    assert_eq!(
        render(r#"{{ $first := index (index . 0).Items 0 }}{{ join $first.Spec.Filters "," }} {{ join $first.Spec.Filters "," | len }} {{ not false }} {{ and 1 0 }} {{ or "" "x" }}"#, &data).unwrap(),
        "f1,f2 5 true 0 x"
    );
    // Missing fields print as a missing map key does; empty ranges take else.
    assert_eq!(
        render(
            "{{(index . 0).Nothing}}|{{range (index . 0).Nothing}}x{{else}}none{{end}}",
            &data
        )
        .unwrap(),
        "<no value>|none"
    );
    assert_eq!(render("a {{/* note */}} b", &data).unwrap(), "a  b");
}

#[test]
fn mistakes_are_errors_not_output() {
    let data = peers();
    for (template, expected) in [
        ("{{range .}}", "template: get: unexpected EOF"),
        ("{{end}}", "template: get: unexpected {{end}}"),
        ("{{.Items", "template: get: unclosed action"),
        (
            "{{nosuch .}}",
            "template: get: function \"nosuch\" not defined",
        ),
        ("{{$x}}", "template: get: undefined variable: $x"),
        ("{{\"open}}", "template: get: unclosed action"),
        (
            "{{printf 1}}",
            "template: get: printf: the first argument must be a format string",
        ),
        (
            "{{.A 1}}",
            "template: get: can't give argument to non-function",
        ),
    ] {
        let failure = render(template, &data).unwrap_err();
        assert_eq!(failure.to_string(), expected, "{template}");
    }
}
