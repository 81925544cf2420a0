-- Regenerate the malformed-file corpus in tests/data/malformed/: each file is
-- a small, deliberately broken IDX, NPY, image, pickle, NPZ or PyTorch file
-- that the loaders must reject with a message naming the file.  Run: ./genlab tests/data/make_malformed.lua
local dir = "tests/data/malformed/"

local function write(name, bytes)
  local f = assert(io.open(dir .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function be32(n) return string.pack(">I4", n) end
local function npy(header, data)
  local h = header .. string.rep(" ", (64 - (10 + #header + 1) % 64) % 64) .. "\n"
  return "\x93NUMPY\x01\x00" .. string.pack("<I2", #h) .. h .. (data or "")
end

-- IDX
write("idx_empty.idx", "")
write("idx_bad_magic.idx", "\x01\x02\x08\x01" .. be32(3) .. "abc")
write("idx_bad_type.idx", "\x00\x00\x07\x01" .. be32(3) .. "abc")
write("idx_zero_dims.idx", "\x00\x00\x08\x00")
write("idx_many_dims.idx", "\x00\x00\x08\x21" .. string.rep(be32(1), 33) .. "a")
write("idx_truncated_dims.idx", "\x00\x00\x08\x03" .. be32(2))
write("idx_truncated_data.idx", "\x00\x00\x08\x02" .. be32(10) .. be32(10) .. string.rep("\1", 50))
write("idx_lying_header.idx", "\x00\x00\x0E\x03" .. be32(0xFFFFFFFF) .. be32(0xFFFFFFFF) .. be32(0xFFFFFFFF) .. "12345678")
write("idx_bad_gzip.idx.gz", "\x1f\x8b\x08\x00" .. string.rep("\0", 30))

-- NPY
write("npy_empty.npy", "")
write("npy_bad_magic.npy", "\x93NUMPX\x01\x00\x10\x00{'descr': '<f4'}")
write("npy_bad_version.npy", "\x93NUMPY\x09\x00\x10\x00{'descr': '<f4'}")
write("npy_header_too_long.npy", "\x93NUMPY\x01\x00\xff\xff{'descr'")
write("npy_no_descr.npy", npy("{'fortran_order': False, 'shape': (2,), }", string.rep("\0", 8)))
write("npy_object.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16)))
write("npy_big_endian.npy", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16)))
write("npy_complex.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16)))
write("npy_bad_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", string.rep("\0", 16)))
write("npy_truncated.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }", string.rep("\0", 64)))
write("npy_trailing_bytes.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 24)))
write("npy_duplicate_key.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'shape': (1,), }", string.rep("\0", 16)))
write("npy_lying_shape.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "12345678"))

-- images
write("img_empty.png", "")
write("img_garbage.png", "this is not an image at all")
write("img_truncated.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\1\0\0\0\1\0\x08\x02\0\0\0")
write("img_huge_claim.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x02\0\0\0\0\0\0\0")
write("img_truncated.jpg", "\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0\xff\xdb")

-- pickles: the opcodes are CPython's (Lib/pickletools.py)
local function u4(n) return string.pack("<I4", n) end
local function str(s) return "X" .. u4(#s) .. s end               -- BINUNICODE
write("pkl_empty.pkl", "")
write("pkl_truncated.pkl", "\x80\x02]q\x00(K\x01K\x02")           -- no APPENDS, no STOP
write("pkl_truncated_bytes.pkl", "\x80\x04\x8e" .. string.pack("<I8", 500000000) .. "abc")
write("pkl_os_system.pkl", "\x80\x02cposix\nsystem\nq\x00" .. str("touch /tmp/genlab-pwned") .. "\x85R.")
write("pkl_builtins_eval.pkl", "\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x03" .. "1+1\x85R.")
write("pkl_big_int.pkl", "\x80\x02\x8a\x08" .. string.pack("<i8", 1 << 60) .. ".")
write("pkl_out_of_band.pkl", "\x80\x05\x97.")
write("pkl_bad_memo.pkl", "\x80\x02h\x05.")
write("pkl_bad_opcode.pkl", "\x80\x02\xff.")
write("pkl_empty_stack.pkl", "\x80\x02a.")
write("pkl_deep.pkl", "\x80\x02" .. string.rep("(", 300) .. "N" .. string.rep("l", 300) .. ".")
-- numpy arrays as protocol 3 writes them: _reconstruct, then BUILD with
-- (1, shape, dtype, fortran, data); the dtype gets (3, byteorder, ...)
local function ndarray(descr, order, n, data)
  return "\x80\x03cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R" ..
    "(K\x01K" .. string.char(n) .. "\x85cnumpy\ndtype\n" .. str(descr) .. "\x89\x88\x87R" ..
    "(K\x03" .. str(order) .. "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb" ..
    "\x89C" .. string.char(#data) .. data .. "tb."
end
write("pkl_big_endian.pkl", ndarray("f8", ">", 2, string.rep("\0", 16)))
write("pkl_wrong_size.pkl", ndarray("f8", "<", 2, string.rep("\0", 8)))
write("pkl_object_array.pkl", ndarray("O8", "|", 2, string.rep("\0", 16)))

-- zip archives (npz, pt): one record per member, sizes from the directory
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end
-- A decompression bomb's header: a PNG of 30000x30000 gray pixels whose IDAT
-- holds only its first 64 bytes (a stored deflate block; the real bomb,
-- zeros deflated, is 875 KB).  The loader must refuse it from the header.
local function png_chunk(kind, data) return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data)) end
local function zlib_stored(data)
  local a, b = 1, 0
  for i = 1, #data do a = (a + data:byte(i)) % 65521; b = (b + a) % 65521 end
  return "\x78\x01\x01" .. string.pack("<I2I2", #data, 0xffff - #data) .. data .. string.pack(">I4", b << 16 | a)
end
write("img_bomb_claim.png", "\x89PNG\r\n\x1a\n" .. png_chunk("IHDR", string.pack(">I4I4BBBBB", 30000, 30000, 8, 0, 0, 0, 0)) ..
      png_chunk("IDAT", zlib_stored(string.rep("\0", 64))) .. png_chunk("IEND", ""))

-- gzip IDX files, the data in one stored deflate block (RFC 1951/1952);
-- crc and isize may lie, and the trailer may be missing
local function gzip(data, crc, isize, no_trailer)
  local out = "\x1f\x8b\x08\x00\0\0\0\0\x00\x03\x01" .. string.pack("<I2I2", #data, 0xffff - #data) .. data
  if no_trailer then return out end
  return out .. string.pack("<I4I4", crc or crc32(data), isize or #data)
end
local small_idx = "\x00\x00\x08\x01" .. be32(5) .. "abcde"
write("idx_gzip_bad_crc.idx.gz", gzip(small_idx, crc32(small_idx) ~ 1))
write("idx_gzip_no_trailer.idx.gz", gzip(small_idx, nil, nil, true))
write("idx_gzip_bad_length.idx.gz", gzip(small_idx, nil, #small_idx + 1000))

-- members: {name, data, [method=0], [crc=], [csize=]} (crc and csize may lie)
local function zip(members)
  local out, cd = {}, {}
  local at = 0
  for _, m in ipairs(members) do
    local crc, csize = m.crc or crc32(m[2]), m.csize or #m[2]
    local head = string.pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, m.method or 0, 0, 0,
                             crc, #m[2], #m[2], #m[1], 0) .. m[1]
    cd[#cd + 1] = string.pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0,
                              m.method or 0, 0, 0, crc, csize, m.usize or #m[2], #m[1], 0, 0, 0, 0, 0, at) .. m[1]
    out[#out + 1] = head .. m[2]
    at = at + #head + #m[2]
  end
  local dir = table.concat(cd)
  return table.concat(out) .. dir .. string.pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #members,
                                                 #members, #dir, at, 0)
end
local good_npy = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16))
write("npz_empty.npz", "")
write("npz_not_zip.npz", "this is not a zip archive, not even close to one")
write("npz_lying_size.npz", zip{{"a.npy", good_npy, csize = 1000000}})
write("npz_not_npy.npz", zip{{"a.npy", good_npy}, {"b.npy", "hello, not an array"}})
write("npz_bad_crc.npz", zip{{"a.npy", good_npy, crc = 12345}})
write("npz_bad_deflate.npz", zip{{"a.npy", "\xff\xfe garbage that is not deflate", method = 8, usize = 80}})
write("npz_truncated_member.npz", zip{{"a.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (20,), }", "")}})

-- PyTorch checkpoints: archive/data.pkl names storage "0" of numel floats;
-- the tensor views `size` of them
local function state_dict(numel, size)
  return "\x80\x02ccollections\nOrderedDict\n)R(" .. str("w") ..
    "ctorch._utils\n_rebuild_tensor_v2\n((" .. str("storage") .. "ctorch\nFloatStorage\n" ..
    str("0") .. str("cpu") .. "K" .. string.char(numel) .. "tQK\x00(K" .. string.char(size) ..
    "t(K\x01t\x89ccollections\nOrderedDict\n)RtRu."
end
local function pt(pkl, data) return zip{{"archive/data.pkl", pkl}, {"archive/data/0", data}, {"archive/version", "3\n"}} end
write("pt_legacy.pt", "\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
write("pt_not_zip.pt", "PK\3\4 and then nothing that a zip reader could use")
write("pt_short_storage.pt", pt(state_dict(100, 100), string.rep("\0", 8)))
write("pt_view_out_of_bounds.pt", pt(state_dict(4, 10), string.rep("\0", 16)))
write("pt_no_pickle.pt", zip{{"archive/version", "3\n"}})
write("pt_missing_storage.pt", zip{{"archive/data.pkl", state_dict(4, 4)}, {"archive/version", "3\n"}})
-- genlab checkpoints (core/data/checkpoint.c): {w = [1, 2, 3]} as float32
local function ckpt_entry(off) return string.pack("<I2", 1) .. "w" .. string.pack("<I1I1i8I8I8", 0, 1, 3, off, 12) end
local function ckpt_v2(patch)
  local head = "GLABCKPT" .. string.pack("<I4I4I8I8I8", 2, 1, #ckpt_entry(128), 0, 128 + 12 + 4) .. ckpt_entry(128)
  local body = head .. string.rep("\0", 128 - #head) .. string.pack("<fff", 1, 2, 3)
  if patch then body = patch(body) end
  return body .. string.pack("<I4", crc32(body))
end
local good_ckpt = ckpt_v2()         -- what G.save writes for {w = [1, 2, 3]} (nn_spec checks)
write("ckpt_empty.ckpt", "")
write("ckpt_bad_magic.ckpt", "GLABCKPX" .. good_ckpt:sub(9))
write("ckpt_bad_crc.ckpt", good_ckpt:sub(1, 130) .. "\x7f" .. good_ckpt:sub(132))
write("ckpt_truncated.ckpt", good_ckpt:sub(1, #good_ckpt - 6))
write("ckpt_trailing.ckpt", good_ckpt .. "more")
write("ckpt_bad_dtype.ckpt", ckpt_v2(function(b) return b:sub(1, 43) .. "\7" .. b:sub(45) end))
write("ckpt_v1_outside.ckpt", "GLABCKPT" .. string.pack("<I4I4I8", 1, 1, #ckpt_entry(64)) .. ckpt_entry(64) ..
      string.rep("\0", 64 - 24 - #ckpt_entry(64)) .. "abc")
print("wrote the malformed corpus to " .. dir)
