/* embed.S: the stripped BPF object, linked into the loader so one file goes into the guest. */
/* BPF_OBJ is the object's path, a string, given with -D by the Makefile. */
	.section .rodata
	.balign 8
	.global ktstr_bpf_obj
ktstr_bpf_obj:
	.incbin BPF_OBJ
	.global ktstr_bpf_obj_end
ktstr_bpf_obj_end:
	.byte 0

	.section .note.GNU-stack, "", @progbits
