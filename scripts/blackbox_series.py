#!/usr/bin/env python3
# The series blackbox_exporter 0.28 can emit, per prober, read from its source (not a live capture):
# see "derivation" in the output.
import json, subprocess, re
import sys
# usage: python3 scripts/blackbox_series.py GITDIR > test/fixtures/blackbox/v0.28-series.json
# GITDIR: a clone of github.com/prometheus/blackbox_exporter with tag v0.28.0 and branch master.
G=sys.argv[1]
def show(rev, f): return subprocess.run(['git','-C',G,'show',f'{rev}:{f}'],capture_output=True,text=True,check=True).stdout
def line_of(rev, f, name, namespace=None):
    lines=show(rev,f).split('\n')
    pat = re.compile(r'Name:\s*"%s"' % re.escape(name))
    for i,l in enumerate(lines):
        if pat.search(l): return i+1
    raise SystemExit(f'{name} not in {rev}:{f}')
TAG='v0.28.0'
def s(name, typ, labels, f, when='always', rev=TAG, look=None):
    n = look or name
    return {'name': name, 'type': typ, 'labels': labels, 'when': when, 'source': f'{f}:{line_of(rev, f, n)}' + ('' if rev==TAG else f' (master {MASTER[:12]})')}
MASTER=subprocess.run(['git','-C',G,'rev-parse','master'],capture_output=True,text=True).stdout.strip()
COMMIT=subprocess.run(['git','-C',G,'rev-parse','v0.28.0^{commit}'],capture_output=True,text=True).stdout.strip()
SSL=['fingerprint_sha256','subject','issuer','subjectalternative','serialnumber']
common=[s('probe_success','gauge',[],'prober/handler.go'), s('probe_duration_seconds','gauge',[],'prober/handler.go'),
        s('probe_timeout_seconds','gauge',[],'prober/handler.go',when='main',rev='master')]
resolve=[s('probe_dns_lookup_time_seconds','gauge',[],'prober/utils.go'), s('probe_ip_protocol','gauge',[],'prober/utils.go'), s('probe_ip_addr_hash','gauge',[],'prober/utils.go')]
qr=[dict(s('probe_expect_info','gauge',[],'prober/query_response.go',when='expect_labels'), labels_from='the labels of the query_response step that matched'),
    s('probe_failed_due_to_regex','gauge',[],'prober/query_response.go'), s('probe_failed_due_to_bytes','gauge',[],'prober/query_response.go'),
    s('probe_ssl_earliest_cert_expiry','gauge',[],'prober/prober.go',when='tls'), s('probe_ssl_last_chain_expiry_timestamp_seconds','gauge',[],'prober/prober.go',when='tls'),
    s('probe_ssl_last_chain_info','gauge',SSL,'prober/query_response.go',when='tls'), s('probe_tls_version_info','gauge',['version'],'prober/prober.go',when='tls')]
H='prober/http.go'
probers={
 'http': common+resolve+[
   s('probe_http_duration_seconds','gauge',['phase'],H), s('probe_http_content_length','gauge',[],H), s('probe_http_uncompressed_body_length','gauge',[],H),
   s('probe_http_redirects','gauge',[],H), s('probe_http_ssl','gauge',[],H), s('probe_http_status_code','gauge',[],H), s('probe_http_version','gauge',[],H),
   s('probe_failed_due_to_regex','gauge',[],H), s('probe_failed_due_to_cel','gauge',[],H,when='cel'),
   s('probe_http_last_modified_timestamp_seconds','gauge',[],H,when='last_modified'),
   s('probe_ssl_earliest_cert_expiry','gauge',[],'prober/prober.go',when='tls'), s('probe_ssl_last_chain_expiry_timestamp_seconds','gauge',[],'prober/prober.go',when='tls'),
   s('probe_ssl_last_chain_info','gauge',SSL,H,when='tls'), s('probe_tls_version_info','gauge',['version'],'prober/prober.go',when='tls'), s('probe_tls_cipher_info','gauge',['cipher'],'prober/prober.go',when='tls')],
 'tcp': common+resolve+qr,
 'unix': common+qr,
 'icmp': common+resolve+[s('probe_icmp_duration_seconds','gauge',['phase'],'prober/icmp.go'), s('probe_icmp_reply_hop_limit','gauge',[],'prober/icmp.go',when='hop_limit')],
 'dns': common+resolve+[s(n,'gauge',l,'prober/dns.go') for n,l in [('probe_dns_duration_seconds',['phase']),('probe_dns_answer_rrs',[]),('probe_dns_authority_rrs',[]),('probe_dns_additional_rrs',[]),('probe_dns_query_succeeded',[])]]+[s('probe_dns_serial','gauge',[],'prober/dns.go',when='soa')],
 'grpc': common+resolve+[s('probe_grpc_duration_seconds','gauge',['phase'],'prober/grpc.go'), s('probe_grpc_ssl','gauge',[],'prober/grpc.go'), s('probe_grpc_status_code','gauge',[],'prober/grpc.go'),
   s('probe_grpc_healthcheck_response','gauge',['serving_status'],'prober/grpc.go'),
   s('probe_ssl_earliest_cert_expiry','gauge',[],'prober/prober.go',when='tls'), s('probe_tls_version_info','gauge',['version'],'prober/prober.go',when='tls'), s('probe_ssl_last_chain_info','gauge',SSL,'prober/grpc.go',when='tls')],
 'websocket': [dict(x, when=('main' if x['when']=='always' else x['when'])) for x in common+resolve]+[s(n,'gauge',l,'prober/websocket.go',when='main',rev='master') for n,l in [('probe_websocket_status_code',[]),('probe_websocket_connection_upgraded',[]),('probe_websocket_failed_due_to_regex',[]),('probe_websocket_duration_seconds',['phase'])]],
}
exporter=[
 {'name':'blackbox_module_unknown_total','type':'counter','labels':[],'when':'always','source':f"main.go:{line_of(TAG,'main.go','blackbox_module_unknown_total')}"},
 {'name':'blackbox_exporter_config_last_reload_successful','type':'gauge','labels':[],'when':'always','source':f"config/config.go:{line_of(TAG,'config/config.go','config_last_reload_successful')} (Namespace blackbox_exporter)"},
 {'name':'blackbox_exporter_config_last_reload_success_timestamp_seconds','type':'gauge','labels':[],'when':'always','source':f"config/config.go:{line_of(TAG,'config/config.go','config_last_reload_success_timestamp_seconds')} (Namespace blackbox_exporter)"},
 {'name':'blackbox_exporter_build_info','type':'gauge','labels':['branch','goarch','goos','goversion','revision','tags','version'],'when':'always','source':'main.go:69 versioncollector.NewCollector("blackbox_exporter") (client_golang prometheus/collectors/version: labels version, revision, branch, goversion, goos, goarch, tags)'},
]
# check the build_info line really is line 69
assert 'versioncollector.NewCollector("blackbox_exporter")' in show(TAG,'main.go').split('\n')[68]
out={'derivation': ('Read from blackbox_exporter\'s source, not captured from a running 0.28 (none can be installed here: Debian 12 ships 0.23, and there is no Go toolchain). '
   'Each series is the Name of a prometheus.New* call, its type and label names, at the file:line given in "source", read with `git show v0.28.0:FILE` in github.com/prometheus/blackbox_exporter '
   f'(tag v0.28.0 = commit {COMMIT}); websocket and probe_timeout_seconds are not in v0.28.0 and come from its master branch (commit {MASTER}, marked when: "main"). '
   '"when" says when the series is registered: always (every probe of the prober), tls (the probe ended on TLS), cel (a CEL body rule is configured), last_modified (the response had a parsable Last-Modified), '
   'soa (the query type is SOA), expect_labels (a query_response step with labels matched), hop_limit (the reply carried its hop limit), main (master only). '
   'Go\'s process_* and go_* collectors of the default registry are on /metrics too and not listed. Written by scripts/blackbox_series.py from a clone of that repository (it finds each line by the Name it reads; the table of names, types, labels and conditions in it was read by hand from those lines).'),
 'repository':'github.com/prometheus/blackbox_exporter','tag':'v0.28.0','commit':COMMIT,'main_commit':MASTER,
 'probers':probers,'exporter':exporter}
print(json.dumps(out, indent=1))
