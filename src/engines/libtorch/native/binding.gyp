# ferry's libtorch engine: an N-API addon over Debian's libtorch-dev (or a libtorch tree named
# by FERRY_LIBTORCH: <prefix>/include, <prefix>/lib). Built by tools/build-libtorch.mjs.
{
  'variables': {
    'libtorch%': '<!(node -p "process.env.FERRY_LIBTORCH || \'/usr\'")',
  },
  'targets': [{
    'target_name': 'ferry_libtorch',
    'sources': ['addon.cc', 'instance.cc'],
    'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
    'include_dirs': ['<(libtorch)/include', '<(libtorch)/include/torch/csrc/api/include'],
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
    # libtorch needs RTTI and exceptions, which node-gyp's defaults turn off.
    'cflags_cc!': ['-fno-rtti', '-fno-exceptions', '-std=gnu++17'],
    'cflags_cc': ['-std=c++17', '-frtti', '-fexceptions', '-O2', '-Wno-unused-parameter'],
    'conditions': [
      ['libtorch=="/usr"', {
        'libraries': ['-ltorch', '-ltorch_cpu', '-lc10'],
      }, {
        'libraries': ['-L<(libtorch)/lib', '-Wl,-rpath,<(libtorch)/lib', '-ltorch', '-ltorch_cpu', '-lc10'],
      }],
    ],
  }],
}
