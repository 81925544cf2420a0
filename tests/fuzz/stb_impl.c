/* stb compiled into the fuzzers themselves, so the image decoder is
** instrumented too (the normal build links Debian's libstb). */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
