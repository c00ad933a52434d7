"""python3-kubernetes (Debian's 22.6) against the embedded API server.

Prints one JSON object per line on stdout, flushed, so the test can react to each step:
list, read a log, watch pod events (across server-ended watches) until py-2 is deleted,
follow a log until the container ends, and a 404.
"""
import json
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def emit(**fields):
    print(json.dumps(fields), flush=True)


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()

    pods = v1.list_namespaced_pod("default")
    emit(step="list", names=[p.metadata.name for p in pods.items], rv=pods.metadata.resource_version)

    emit(step="log", text=v1.read_namespaced_pod_log("py-1", "default", container="build"))

    w = watch.Watch()
    emit(step="watching")
    for event in w.stream(v1.list_namespaced_pod, "default", resource_version=pods.metadata.resource_version):
        obj = event["object"]
        emit(step="event", type=event["type"], name=obj.metadata.name, phase=obj.status.phase)
        if event["type"] == "DELETED" and obj.metadata.name == "py-2":
            w.stop()

    emit(step="following")
    lines = []
    for line in watch.Watch().stream(
        v1.read_namespaced_pod_log, name="py-1", namespace="default", container="build", follow=True
    ):
        lines.append(line)
        emit(step="line", text=line)
    emit(step="followed", lines=lines)

    try:
        v1.read_namespaced_pod("missing", "default")
        emit(step="missing", status=200)
    except ApiException as e:
        body = json.loads(e.body)
        emit(step="missing", status=e.status, reason=body["reason"], message=body["message"])


if __name__ == "__main__":
    main(sys.argv[1])
