// Host facts for a bench report (systeminformation): figures from two machines only compare with
// these beside them.
import si from 'systeminformation';

export interface HostFacts {
  cpu: string;
  cores: number;
  physicalCores: number;
  memoryBytes: number;
  os: string;
  kernel: string;
  node: string;
}

export async function hostFacts(): Promise<HostFacts> {
  const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
  return {
    cpu: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cores: cpu.cores,
    physicalCores: cpu.physicalCores,
    memoryBytes: mem.total,
    os: `${os.distro} ${os.release}`.trim(),
    kernel: os.kernel,
    node: process.version,
  };
}
