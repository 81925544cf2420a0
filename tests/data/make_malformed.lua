-- Regenerate the malformed-file corpus in tests/data/malformed/: each file is
-- a small, deliberately broken IDX, NPY or image file that the loaders must
-- reject with a message naming the file.  Run: ./genlab tests/data/make_malformed.lua
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
write("idx_many_dims.idx", "\x00\x00\x08\x09" .. string.rep(be32(1), 9) .. "a")
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
write("npy_fortran.npy", npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", string.rep("\0", 32)))
write("npy_big_endian.npy", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16)))
write("npy_complex.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 16)))
write("npy_bad_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", string.rep("\0", 16)))
write("npy_truncated.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }", string.rep("\0", 64)))
write("npy_lying_shape.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "12345678"))

-- images
write("img_empty.png", "")
write("img_garbage.png", "this is not an image at all")
write("img_truncated.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\1\0\0\0\1\0\x08\x02\0\0\0")
write("img_huge_claim.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x02\0\0\0\0\0\0\0")
write("img_truncated.jpg", "\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0\xff\xdb")
print("wrote the malformed corpus to " .. dir)
