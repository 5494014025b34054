"""`nethealth diagnose POD` (`kubectl nethealth diagnose`): one probe run for one pod, now.

No NetHealthCheck is needed: a one-off probe Job (``jobs.one_off``) runs on the pod's
node, measures the pod, a fresh pod and the node side by side, and is deleted when the
report is in. Progress goes to stderr, the report to stdout; the exit code says Healthy
(0), Degraded (1) or Inconclusive (2); see ``plugin.diagnosis`` for their exact meaning.
"""

from __future__ import annotations

import argparse
import sys

from nethealth.plugin import connection, diagnosis, options

HELP = "probe one pod's network now with a one-off Job (no NetHealthCheck needed)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod", metavar="POD", help="the pod to diagnose")
    connection.add_namespace(parser)
    parser.add_argument(
        "--target",
        metavar="[NAME=]HOST:PORT",
        action="append",
        default=[],
        help="a TCP destination the pod should reach; IPv6 as [addr]:port (repeatable;"
        " default: the `kubernetes` Service, i.e. the API server)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="text",
        metavar="FORMAT",
        help="text (default), json or yaml: the verdict with the probe's full result",
    )
    parser.add_argument(
        "--timeout",
        default=str(options.DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help="give up after this long: the probe Job's deadline, from its creation to its"
        f" result (default {options.DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--attempts",
        default=str(options.DEFAULT_ATTEMPTS),
        metavar="N",
        help=f"connects per target and namespace (default {options.DEFAULT_ATTEMPTS})",
    )
    parser.add_argument(
        "--spread",
        default=str(options.DEFAULT_SPREAD),
        metavar="SECONDS",
        help="the window the connects are spread over: failures come in blocks of seconds"
        f" (default {options.DEFAULT_SPREAD:g})",
    )
    parser.add_argument(
        "--connect-timeout",
        default=str(options.DEFAULT_CONNECT_TIMEOUT),
        metavar="SECONDS",
        help=f"per connect (default {options.DEFAULT_CONNECT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--failure-rate",
        metavar="RATE",
        help="also exit 1 when more than RATE of the pod's connects fail (0.2 or 20%%),"
        " even if the probe calls it Healthy",
    )
    parser.add_argument(
        "--image",
        metavar="IMAGE",
        help="the probe image (default: $NETHEALTH_PROBE_IMAGE, else the operator's own)",
    )
    connection.add_flags(parser)


def run(args: argparse.Namespace) -> int:
    try:
        output = options.output(args.output)
        targets = options.targets(args.target)
        attempts = options.whole(args.attempts, flag="--attempts")
        spread = options.seconds(args.spread, flag="--spread")
        connect_timeout = options.seconds(args.connect_timeout, flag="--connect-timeout")
        timeout = options.seconds(args.timeout, flag="--timeout")
        failure_rate = (
            None
            if args.failure_rate is None
            else options.rate(args.failure_rate, flag="--failure-rate")
        )
        options.check_numbers(
            attempts=attempts, spread=spread, connect_timeout=connect_timeout, timeout=timeout
        )
        if targets:
            options.probe_spec(
                targets=targets,
                attempts=attempts,
                spread=spread,
                connect_timeout=connect_timeout,
                timeout=timeout,
            )
    except options.UsageError as error:
        return _usage(str(error))
    from nethealth import settings  # noqa: PLC0415
    from nethealth.kube import blocking, errors  # noqa: PLC0415 - the client is heavy
    from nethealth.plugin import render, session  # noqa: PLC0415

    def say(text: str) -> None:
        print(f"diagnose: {text}", file=sys.stderr, flush=True)

    try:
        conn = blocking.connect(kubeconfig=args.kubeconfig, context=args.context)
        if not targets:
            targets = (session.default_target(conn),)
        spec = options.probe_spec(
            targets=targets,
            attempts=attempts,
            spread=spread,
            connect_timeout=connect_timeout,
            timeout=timeout,
        )
        image = args.image or settings.from_env().probe_image
        request = session.Request(
            namespace=args.namespace or conn.namespace,
            pod=args.pod,
            spec=spec,
            image=image,
            failure_rate=failure_rate,
        )
        result = session.run(conn, request=request, say=say)
    except KeyboardInterrupt:
        say("interrupted")
        return diagnosis.EXIT_INTERRUPTED
    except (errors.KubeError, session.CannotDiagnose, settings.SettingsError) as error:
        print(f"nethealth diagnose: error: {error}", file=sys.stderr)
        return diagnosis.EXIT_INCONCLUSIVE
    if output == "json":
        sys.stdout.write(render.as_json(result))
    elif output == "yaml":
        sys.stdout.write(render.as_yaml(result))
    else:
        sys.stdout.write(render.text(result))
    return result.exit_code


def _usage(message: str) -> int:
    print(f"nethealth diagnose: error: {message}", file=sys.stderr)
    return options.EXIT_USAGE
