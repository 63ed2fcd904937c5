use super::*;

fn review(kind: (&str, &str, &str), operation: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": kind.0, "version": kind.1, "kind": kind.2},
            "resource": {"group": kind.0, "version": kind.1, "resource": "things"},
            "name": object["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": "payments",
            "operation": operation,
            "userInfo": {"username": "admin"},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    }))
    .unwrap()
}

/// A pod spec with one container, one init container and one ephemeral container.
fn pod_spec() -> Value {
    json!({
        "containers": [
            {"name": "api", "image": "registry.example.com/payments/api:1.4", "ports": [{"containerPort": 8080}]},
            {"name": "sidecar", "image": "envoyproxy/envoy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
        ],
        "initContainers": [{"name": "migrate", "image": "registry.example.com/payments/migrate:1.4"}],
        "ephemeralContainers": [{"name": "debug", "image": "busybox", "targetContainerName": "api"}]
    })
}

fn templated(spec: Value) -> Value {
    json!({"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
           "template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}})
}

#[test]
fn every_workload_kind_yields_every_container_with_its_path() {
    let meta = json!({"name": "api", "namespace": "payments"});
    let controller = json!({"metadata": meta, "spec": templated(pod_spec())});
    type Case = (
        (&'static str, &'static str, &'static str),
        Value,
        WorkloadKind,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            ("", "v1", "Pod"),
            json!({"metadata": meta, "spec": pod_spec()}),
            WorkloadKind::Pod,
            "spec",
        ),
        (
            ("apps", "v1", "Deployment"),
            controller.clone(),
            WorkloadKind::Deployment,
            "spec.template.spec",
        ),
        (
            ("apps", "v1", "StatefulSet"),
            controller.clone(),
            WorkloadKind::StatefulSet,
            "spec.template.spec",
        ),
        (
            ("apps", "v1", "DaemonSet"),
            controller.clone(),
            WorkloadKind::DaemonSet,
            "spec.template.spec",
        ),
        (
            ("apps", "v1", "ReplicaSet"),
            controller.clone(),
            WorkloadKind::ReplicaSet,
            "spec.template.spec",
        ),
        (
            ("", "v1", "ReplicationController"),
            controller.clone(),
            WorkloadKind::ReplicationController,
            "spec.template.spec",
        ),
        (
            ("batch", "v1", "Job"),
            json!({"metadata": meta, "spec": {"backoffLimit": 2, "template": {"spec": pod_spec()}}}),
            WorkloadKind::Job,
            "spec.template.spec",
        ),
        (
            ("batch", "v1", "CronJob"),
            json!({"metadata": meta, "spec": {"schedule": "*/5 * * * *",
                   "jobTemplate": {"spec": {"template": {"spec": pod_spec()}}}}}),
            WorkloadKind::CronJob,
            "spec.jobTemplate.spec.template.spec",
        ),
    ];
    for (gvk, object, kind, base) in cases {
        let r = ReviewRequest::parse(&review(gvk, "CREATE", object)).unwrap();
        assert_eq!(r.uid(), "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(r.kind().kind, gvk.2);
        assert_eq!(r.operation(), Operation::Create);
        assert_eq!(r.namespace(), "payments");
        assert_eq!(r.name(), "api");
        let spec = r
            .pod_spec()
            .unwrap_or_else(|| panic!("{gvk:?} has a pod spec"));
        assert_eq!(spec.kind(), kind);
        let got: Vec<(&str, &str, &str, ContainerList)> = spec
            .containers()
            .iter()
            .map(|c| (c.path(), c.name(), c.image(), c.list()))
            .collect();
        let want = [
            (format!("{base}.containers[0]"), "api", "registry.example.com/payments/api:1.4", ContainerList::Containers),
            (format!("{base}.containers[1]"), "sidecar", "envoyproxy/envoy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ContainerList::Containers),
            (format!("{base}.initContainers[0]"), "migrate", "registry.example.com/payments/migrate:1.4", ContainerList::InitContainers),
            (format!("{base}.ephemeralContainers[0]"), "debug", "busybox", ContainerList::EphemeralContainers),
        ];
        assert_eq!(got.len(), want.len(), "{kind}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (g.0, g.1, g.2, g.3),
                (w.0.as_str(), w.1, w.2, w.3),
                "{kind}"
            );
        }
        let images: Vec<String> = spec
            .distinct_images()
            .iter()
            .map(|(r, _)| r.to_string())
            .collect();
        assert_eq!(
            images,
            [
                "registry.example.com/payments/api:1.4",
                "docker.io/envoyproxy/envoy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "registry.example.com/payments/migrate:1.4",
                "docker.io/library/busybox",
            ],
            "{kind}"
        );
    }
}

#[test]
fn objects_without_a_pod_spec_are_left_alone() {
    let cases = [
        // A Deployment's scale subresource: the object is a Scale.
        (
            ("autoscaling", "v1", "Scale"),
            "UPDATE",
            json!({"metadata": {"name": "api"}, "spec": {"replicas": 5}}),
        ),
        (
            ("", "v1", "ConfigMap"),
            "CREATE",
            json!({"metadata": {"name": "cfg"}, "data": {"a": "b"}}),
        ),
        // A kind we do not know may have any shape at all.
        (("example.com", "v1", "Widget"), "CREATE", json!([1, 2, 3])),
        (("", "v1", "Pod"), "DELETE", Value::Null),
    ];
    for (gvk, op, object) in cases {
        let r = ReviewRequest::parse(&review(gvk, op, object)).unwrap();
        assert!(r.pod_spec().is_none(), "{gvk:?}");
    }
}

#[test]
fn pods_made_by_controllers_are_named_by_their_generate_name() {
    let body = review(
        ("", "v1", "Pod"),
        "CREATE",
        json!({"metadata": {"generateName": "api-7d9c5b-", "namespace": "payments"},
               "spec": {"containers": [{"name": "api", "image": "reg.io/a:1"}]}}),
    );
    let r = ReviewRequest::parse(&body).unwrap();
    assert_eq!(r.name(), "api-7d9c5b-");
}

#[test]
fn one_image_in_several_containers_is_one_image() {
    let body = review(
        ("", "v1", "Pod"),
        "CREATE",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "image": "nginx:1.27"},
            {"name": "b", "image": "docker.io/library/nginx:1.27"},
            {"name": "c", "image": "nginx:1.26"}
        ]}}),
    );
    let r = ReviewRequest::parse(&body).unwrap();
    let images = r.pod_spec().unwrap().distinct_images();
    assert_eq!(images.len(), 2);
    assert_eq!(
        images[0].1.iter().map(|c| c.name()).collect::<Vec<_>>(),
        ["a", "b"]
    );
}

#[test]
fn an_image_that_is_no_reference_is_kept_with_its_error() {
    let body = review(
        ("", "v1", "Pod"),
        "CREATE",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "ok", "image": "reg.io/a:1"},
            {"name": "bad", "image": "Reg.io/UPPER/Case:1"}
        ]}}),
    );
    let r = ReviewRequest::parse(&body).unwrap();
    let spec = r.pod_spec().unwrap();
    assert_eq!(spec.distinct_images().len(), 1);
    let bad: Vec<_> = spec.unparsable().collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0.path(), "spec.containers[1]");
    assert!(!bad[0].1 .0.is_empty());
}

#[test]
fn malformed_reviews_are_refused_naming_the_problem() {
    let ok_pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "reg.io/a:1"}]}});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v: Value =
            serde_json::from_slice(&review(("", "v1", "Pod"), "CREATE", ok_pod.clone())).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "not an AdmissionReview"),
        (b"[]".to_vec(), "not an AdmissionReview"),
        (
            with(&|v| v["apiVersion"] = json!("admission.k8s.io/v1beta1")),
            "admissionReviewVersions: [v1]",
        ),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("apiVersion");
            }),
            "apiVersion is missing",
        ),
        (with(&|v| v["kind"] = json!("Pod")), "kind is \"Pod\""),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("request");
            }),
            "request is missing",
        ),
        (
            with(&|v| v["request"]["uid"] = json!("")),
            "request.uid is missing",
        ),
        (
            with(&|v| v["request"]["uid"] = json!(7)),
            "not an AdmissionReview",
        ),
        (
            with(&|v| {
                v["request"].as_object_mut().unwrap().remove("kind");
            }),
            "request.kind is missing",
        ),
        (
            with(&|v| v["request"]["operation"] = json!("PATCH")),
            "\"PATCH\" is not one of",
        ),
        (
            with(&|v| {
                v["request"].as_object_mut().unwrap().remove("operation");
            }),
            "request.operation is missing",
        ),
        (
            with(&|v| v["request"]["object"]["spec"]["containers"] = json!("nginx")),
            "not a valid Pod",
        ),
        (
            with(&|v| v["request"]["object"]["spec"]["containers"][0]["image"] = json!(5)),
            "not a valid Pod",
        ),
        (
            with(&|v| {
                v["request"]["object"]["spec"]["containers"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("image");
            }),
            "spec.containers[0].image is missing",
        ),
        (
            with(&|v| {
                v["request"]["object"]
                    .as_object_mut()
                    .unwrap()
                    .remove("spec");
            }),
            "a Pod without spec",
        ),
    ];
    for (body, expected) in cases {
        let e = ReviewRequest::parse(&body).unwrap_err();
        assert!(
            e.to_string().contains(expected),
            "{:?}: {e}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(80)
                .collect::<String>()
        );
    }
    // A Deployment or a CronJob without its template names the missing path.
    let d = review(
        ("apps", "v1", "Deployment"),
        "CREATE",
        json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}}),
    );
    assert!(ReviewRequest::parse(&d)
        .unwrap_err()
        .0
        .contains("spec.template"));
    let c = review(
        ("batch", "v1", "CronJob"),
        "CREATE",
        json!({"spec": {"jobTemplate": {"spec": {}}}}),
    );
    assert!(ReviewRequest::parse(&c)
        .unwrap_err()
        .0
        .contains("spec.jobTemplate.spec.template"));
}

#[test]
fn responses_echo_the_uid_and_carry_status_warnings_and_annotations() {
    let mut refused = ReviewResponse::refuse("u-1", 403, "no signature");
    refused.warn("policy x (warn mode) would refuse it");
    refused.annotate("decision", "refused").unwrap();
    refused.annotate("bundle-version", "7").unwrap();
    let json = refused.to_json();
    assert_eq!(json["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(json["kind"], "AdmissionReview");
    let r = &json["response"];
    assert_eq!(r["uid"], "u-1");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"], json!({"code": 403, "message": "no signature"}));
    assert_eq!(
        r["warnings"],
        json!(["policy x (warn mode) would refuse it"])
    );
    assert_eq!(
        r["auditAnnotations"],
        json!({"decision": "refused", "bundle-version": "7"})
    );

    let allowed = ReviewResponse::allow("u-2").to_json();
    assert_eq!(
        allowed["response"],
        json!({"uid": "u-2", "allowed": true}),
        "nothing but uid and allowed when there is nothing to say"
    );
}

#[test]
fn annotation_keys_are_bare_qualified_names() {
    let mut r = ReviewResponse::allow("u");
    for good in ["decision", "reason", "bundle-version", "a", "x.y_z-1"] {
        assert!(r.annotate(good, "v").is_ok(), "{good}");
    }
    let long = "k".repeat(64);
    for bad in [
        "trustwatch.dev/decision",
        "",
        "-x",
        "x-",
        "a b",
        "ä",
        long.as_str(),
    ] {
        assert!(r.annotate(bad, "v").is_err(), "{bad:?}");
    }
}

#[test]
fn warnings_keep_within_the_api_servers_limits() {
    let mut r = ReviewResponse::allow("u");
    r.warn("line one\nline two\tend");
    assert_eq!(r.warnings(), ["line one line two end"]);
    r.warn("line one\nline two\tend");
    assert_eq!(r.warnings().len(), 1, "a repeated warning is sent once");

    let long = format!("{} tail", "x".repeat(400));
    r.warn(&long);
    let cut = &r.warnings()[1];
    assert_eq!(cut.chars().count(), WARNING_MAX_CHARS);
    assert!(cut.ends_with('…'));

    // Multibyte text is cut on character boundaries.
    let mut m = ReviewResponse::allow("u");
    m.warn(&"é".repeat(300));
    assert_eq!(m.warnings()[0].chars().count(), WARNING_MAX_CHARS);

    let mut many = ReviewResponse::allow("u");
    for i in 0..100 {
        many.warn(&format!("{i:03} {}", "w".repeat(96)));
    }
    let sent = many.warnings();
    let total: usize = sent.iter().map(|w| w.chars().count()).sum();
    assert!(total <= WARNINGS_TOTAL_CHARS, "{total}");
    let note = sent.last().unwrap();
    assert!(note.contains("more warnings were left out"), "{note}");
    let kept = sent.len() - 1;
    assert!(note.starts_with(&format!("{} ", 100 - kept)), "{note}");
    assert!(kept >= 35, "most of the room is used: {kept}");
}

#[test]
fn truncation_is_exact_at_the_limit() {
    assert_eq!(truncate_chars("abc", 3), "abc");
    assert_eq!(truncate_chars("abcd", 3), "ab…");
    assert_eq!(truncate_chars("ab  cd", 4), "ab…");
}

#[test]
fn updates_judge_only_images_the_object_did_not_run_before() {
    let pod = |images: &[&str]| -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        json!({"metadata": {"name": "p", "finalizers": []}, "spec": {"containers": containers}})
    };
    let update = |old: Value, new: Value, operation: &str| {
        let mut body: Value =
            serde_json::from_slice(&review(("", "v1", "Pod"), operation, new)).unwrap();
        body["request"]["oldObject"] = old;
        ReviewRequest::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
    };
    let judged = |r: &ReviewRequest| -> Vec<String> {
        r.containers_to_judge()
            .iter()
            .map(|c| c.image().to_owned())
            .collect()
    };

    // A finalizer removed or a label changed: nothing to judge.
    let r = update(
        pod(&["reg.io/a:1", "reg.io/b:1"]),
        pod(&["reg.io/a:1", "reg.io/b:1"]),
        "UPDATE",
    );
    assert!(r.old_pod_spec().is_some());
    assert!(judged(&r).is_empty());
    // One image changed: that one.
    let r = update(
        pod(&["reg.io/a:1", "reg.io/b:1"]),
        pod(&["reg.io/a:2", "reg.io/b:1"]),
        "UPDATE",
    );
    assert_eq!(judged(&r), ["reg.io/a:2"]);
    // An ephemeral container added through the subresource: the debug image.
    let mut debug = pod(&["reg.io/a:1"]);
    debug["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    let r = update(pod(&["reg.io/a:1"]), debug, "UPDATE");
    assert_eq!(judged(&r), ["busybox"]);
    // A create judges everything, whatever an oldObject says; a malformed old object hides nothing.
    let r = update(pod(&["reg.io/a:1"]), pod(&["reg.io/a:1"]), "CREATE");
    assert_eq!(judged(&r), ["reg.io/a:1"]);
    let r = update(json!({"spec": "nonsense"}), pod(&["reg.io/a:1"]), "UPDATE");
    assert!(r.old_pod_spec().is_none());
    assert_eq!(judged(&r), ["reg.io/a:1"]);
    // Grouped by image, as the webhook decides them.
    let r = update(
        pod(&[]),
        pod(&["nginx:1", "docker.io/library/nginx:1", "reg.io/a:1"]),
        "UPDATE",
    );
    let groups = PodSpecImages::group_by_image(&r.containers_to_judge());
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].1.len(), 2);
}
