/**
 * Convolution / ConvolutionDepthWise / Deconvolution / DeconvolutionDepthWise / InnerProduct
 * followed by ReLU, Clip, Sigmoid, Mish or HardSwish: the activation becomes the layer's
 * activation_type (9) and activation_params (10), as ncnnoptimize's fuse_*_activation do.
 */
import { p } from '../net.js';
import type { NetPass } from './pass.js';
import { floatParam, removeLayers, soleReader } from './graph.js';

const HOSTS = new Set(['Convolution', 'ConvolutionDepthWise', 'Deconvolution', 'DeconvolutionDepthWise', 'InnerProduct']);

export const fuseActivation: NetPass = {
  name: 'fuse-activation',
  description: 'fold ReLU/Clip/Sigmoid/Mish/HardSwish into the convolution or InnerProduct before it',
  run(net, outputs) {
    let changes = 0;
    for (const host of [...net.layers]) {
      if (!HOSTS.has(host.type) || host.params.has(9)) continue;
      const act = soleReader(net, host.tops[0]!, outputs);
      if (!act || act.bottoms.length !== 1) continue;
      let type: number;
      let params: number[] = [];
      if (act.type === 'ReLU') {
        const slope = floatParam(act, 0, 0);
        type = slope === 0 ? 1 : 2;
        if (slope !== 0) params = [slope];
      } else if (act.type === 'Clip') {
        type = 3;
        params = [floatParam(act, 0, -3.4028234663852886e38), floatParam(act, 1, 3.4028234663852886e38)];
      } else if (act.type === 'Sigmoid') {
        type = 4;
      } else if (act.type === 'Mish') {
        type = 5;
      } else if (act.type === 'HardSwish') {
        type = 6;
        params = [floatParam(act, 0, 0.2), floatParam(act, 1, 0.5)];
      } else {
        continue;
      }
      host.params.set(9, p.int(type));
      if (params.length) host.params.set(10, p.floats(params));
      host.tops = [...act.tops];
      removeLayers(net, [act]);
      changes++;
    }
    return changes;
  },
};
