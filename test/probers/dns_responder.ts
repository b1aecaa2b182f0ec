// A hostile DNS server for the dns prober's tests, on 127.0.0.1 UDP and TCP at one port the kernel
// picks: the first label of the query name says how it misbehaves (see BEHAVIOURS).
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as packet from 'dns-packet';

type Decoded = packet.Packet & { id: number };
const ANSWER_IP = '192.0.2.53';

function hasOpt(q: Decoded): boolean {
  return (q.additionals ?? []).some((a) => a.type === 'OPT');
}

function answer(q: Decoded, extra: Partial<packet.Packet> = {}): Buffer {
  const question = q.questions?.[0] as packet.Question;
  const answers: packet.Answer[] = [];
  if (question.type === 'SOA') {
    answers.push({ type: 'SOA', name: question.name, ttl: 300, data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 2026120101, refresh: 3600, retry: 600, expire: 86400, minimum: 60 } });
  } else if (question.type === 'TXT') {
    answers.push({ type: 'TXT', name: question.name, ttl: 60, data: ['v=spf1 -all', 'quote"d'] });
  } else {
    answers.push({ type: 'A', name: question.name, ttl: 300, data: ANSWER_IP });
    answers.push({ type: 'A', name: question.name, ttl: 300, data: '192.0.2.54' });
  }
  const additionals: packet.Answer[] = [];
  if (hasOpt(q)) {
    const opt = q.additionals?.find((a) => a.type === 'OPT') as packet.OptAnswer;
    const options: packet.PacketOpt[] = [];
    for (const o of opt.options ?? []) {
      const code = (o as { code: number }).code;
      if (code === 8) options.push({ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 20, ip: '198.51.100.0' } as unknown as packet.PacketOpt);
      if (code === 3) options.push({ code: 3, data: Buffer.from('hostile-1') } as unknown as packet.PacketOpt);
      if (code === 10) options.push({ code: 10, data: Buffer.concat([(o as { data: Buffer }).data, Buffer.alloc(8, 7)]) } as unknown as packet.PacketOpt);
    }
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: 1400, flags: 0, options } as unknown as packet.Answer);
  }
  return packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: q.questions, answers, additionals, ...extra });
}

function setFlags(buf: Buffer, or: number, and = 0xffff): Buffer {
  buf.writeUInt16BE((buf.readUInt16BE(2) & and) | or, 2);
  return buf;
}

/** What the server sends back over UDP (undefined: silence), by behaviour. */
const BEHAVIOURS: Record<string, (q: Decoded) => Buffer | undefined> = {
  ok: (q) => answer(q),
  nx: (q) => setFlags(answer(q, { answers: [] }), 3, 0xfff0),
  wrongid: (q) => answer({ ...q, id: (q.id + 1) & 0xffff }),
  truncated: (q) => answer(q).subarray(0, 20),
  short: () => Buffer.from([1]),
  counts: (q) => {
    const b = answer(q);
    b.writeUInt16BE(9, 6); // 9 answers announced, 2 sent
    return b;
  },
  garbage: (q) => Buffer.concat([answer(q), Buffer.from('trailing')]),
  loop: (q) => {
    // header, the question as sent, then an answer whose name is a pointer to itself.
    const head = answer(q, { answers: [] });
    const at = head.length;
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc000 | at, 0);
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    const out = Buffer.concat([head, rr]);
    out.writeUInt16BE(1, 6);
    return out;
  },
  badrdlen: (q) => {
    const b = answer(q);
    // The last A record's RDLENGTH (2 bytes before its 4 address bytes) says 5.
    b.writeUInt16BE(5, b.length - 6);
    return b;
  },
  formerredns: (q) => (hasOpt(q) ? setFlags(answer({ ...q, additionals: [] }, { answers: [] }), 1, 0xfff0) : answer(q)),
  silentedns: (q) => (hasOpt(q) ? undefined : answer(q)),
  tc: (q) => setFlags(answer(q, { answers: [] }), 0x0200),
  tcnotcp: (q) => setFlags(answer(q, { answers: [] }), 0x0200),
  wrongsource: () => undefined,
  silent: () => undefined,
};

/** Over TCP: the messages to write and how (split into single bytes, or all in one write). */
const TCP_BEHAVIOURS: Record<string, (q: Decoded) => { frames: Buffer[]; split?: boolean; close?: boolean; delayMs?: number }> = {
  // A good answer 20 ms late: probes in flight together hold their connections meanwhile.
  slow: (q) => ({ frames: [answer(q)], delayMs: 20 }),
  tcnotcp: () => ({ frames: [], close: true }),
  split: (q) => ({ frames: [answer(q)], split: true }),
  pipelined: (q) => ({ frames: [answer({ ...q, id: (q.id + 7) & 0xffff }), answer(q)] }),
  cutframe: (q) => ({ frames: [answer(q)], close: true }),
  // Answers, then closes the connection (FIN): a kept connection is gone before the next probe.
  closeafter: (q) => ({ frames: [answer(q)], close: true }),
};

function frame(m: Buffer): Buffer {
  const b = Buffer.alloc(2 + m.length);
  b.writeUInt16BE(m.length, 0);
  m.copy(b, 2);
  return b;
}

export interface Responder {
  port: number;
  /** queries received, by transport */
  queries: { udp: Decoded[]; tcp: Decoded[] };
  /** the source port of each UDP query, in order */
  udpPorts: number[];
  /** TCP connections accepted so far */
  tcpConnections(): number;
  close(): Promise<void>;
}

function behaviourOf(q: Decoded): string {
  return (q.questions?.[0]?.name ?? '').split('.')[0];
}

async function listen(): Promise<{ tcp: net.Server; udp: dgram.Socket; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return { tcp, udp, port };
    udp.close();
    tcp.close();
    if (attempt > 20) throw new Error('no port free on UDP and TCP');
  }
}

export async function startResponder(): Promise<Responder> {
  const { tcp, udp, port } = await listen();
  const other = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', resolve));
  const queries: Responder['queries'] = { udp: [], tcp: [] };
  const udpPorts: number[] = [];
  udp.on('message', (raw, rinfo) => {
    const q = packet.decode(raw) as Decoded;
    queries.udp.push(q);
    udpPorts.push(rinfo.port);
    const kind = behaviourOf(q);
    const reply = (BEHAVIOURS[kind] ?? BEHAVIOURS.ok)(q);
    if (!reply) {
      if (kind === 'wrongsource') other.send(answer(q), rinfo.port, rinfo.address);
      return;
    }
    udp.send(reply, rinfo.port, rinfo.address);
  });
  const conns = new Set<net.Socket>();
  let accepted = 0;
  tcp.on('connection', (sock) => {
    accepted++;
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let asked = 0;
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + raw.length);
        const q = packet.decode(raw) as Decoded;
        queries.tcp.push(q);
        const kind = behaviourOf(q);
        // One query per connection: a second one on it is met with a reset and no answer, as from a
        // server that dropped an idle connection without a FIN (a kept connection that looks alive).
        if (kind === 'onceper' && ++asked > 1) {
          sock.resetAndDestroy();
          return;
        }
        const how = TCP_BEHAVIOURS[kind]?.(q) ?? { frames: [answer(q)] };
        const bytes = Buffer.concat(how.frames.map(frame));
        if (kind === 'cutframe') {
          sock.end(bytes.subarray(0, bytes.length - 5));
        } else if (how.split) {
          // One byte per write with a pause between, so the length prefix itself is split.
          let i = 0;
          const next = () => {
            if (sock.destroyed) return;
            if (i >= bytes.length) return;
            sock.write(bytes.subarray(i, i + 1));
            i++;
            setTimeout(next, 2);
          };
          next();
        } else if (how.close) {
          sock.end(bytes);
        } else if (how.delayMs) {
          setTimeout(() => sock.destroyed || sock.write(bytes), how.delayMs);
        } else sock.write(bytes);
      }
    });
  });
  return {
    port,
    queries,
    udpPorts,
    tcpConnections: () => accepted,
    close: async () => {
      for (const c of conns) c.destroy();
      udp.close();
      other.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
