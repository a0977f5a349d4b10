/*
 * The payload's entry points and its call into RTAS, for both byte orders from one source.
 *
 * Nothing here uses an absolute address: each entry finds where it runs with `bcl 20,31`
 * (LR = the next instruction) and derives from that the image's base, the TOC pointer r2
 * and its stack, all as link-time-constant distances. So the image runs wherever it is
 * loaded, without relocation.
 *
 * Every CPU enters big-endian (MSR = SF|ME). fixup_endian switches to the byte order this
 * file was assembled for, whatever the CPU's, and leaves the MSR it found in r11.
 */
#define FRAME 128           /* a minimal stack frame: ELFv1 needs 112 bytes, ELFv2 32 */
#define STACK_SIZE 16384

/* The instruction word `insn` as the other byte order stores it: .long writes this build's
 * order, so a CPU running in the other one reads back `insn`. */
    .macro other_order insn
    .long ((((\insn) >> 24) & 0xff) | (((\insn) >> 8) & 0xff00) | \
           (((\insn) & 0xff00) << 8) | (((\insn) & 0xff) << 24))
    .endm

/*
 * To the byte order of this build, from either. The first word, `tdi 0,0,0x48`, never traps
 * (TO = 0) when read in our order; read in the other order its bytes say `b .+8`, into a
 * trampoline stored byte-reversed (so that CPU reads it right) that flips MSR[LE] with rfid.
 * Either way r11 ends up holding the MSR as it was before any switch. Clobbers r10-r12 and,
 * when it switches, SRR0/SRR1 and MSR[RI].
 */
    .macro fixup_endian
    tdi     0,0,0x48
    b       191f                /* already in our byte order */
    other_order 0x7d6000a6      /* mfmsr   r11          the MSR at entry */
    other_order 0x696c0001      /* xori    r12,r11,1    ... with LE flipped */
    other_order 0x39400000      /* li      r10,0 */
    other_order 0x7d410164      /* mtmsrd  r10,1        EE = RI = 0: SRR0/1 stay ours */
    other_order 0x429f0005      /* bcl     20,31,.+4    LR = the next word's address */
193:
    other_order 0x7d4802a6      /* mflr    r10 */
    other_order 0x394a0018      /* addi    r10,r10,24   192f: 6 words past the mflr */
    other_order 0x7d5a03a6      /* mtsrr0  r10 */
    other_order 0x7d9b03a6      /* mtsrr1  r12 */
    other_order 0x4c000024      /* rfid                 on at 192f, in our byte order */
191:
    mfmsr   %r11
192:
    /* The addi above counts on this layout: 192 is 24 bytes past the mflr (193). */
    .if (192b - 193b) - 24
    .error "fixup_endian: the trampoline's return offset no longer matches"
    .endif
    .endm

/* r2 = the TOC pointer and r1 = a fresh frame under `stack_top`, computed from `here` (whose
 * run-time address is in r12). */
    .macro set_toc_and_stack here, stack_top
    addis   %r2,%r12,(.TOC. - \here)@ha
    addi    %r2,%r2,(.TOC. - \here)@l
    addis   %r1,%r12,(\stack_top - \here)@ha
    addi    %r1,%r1,(\stack_top - \here)@l
    li      %r0,0
    stdu    %r0,-FRAME(%r1)     /* back chain 0: the end of the stack */
    .endm

    .section .text.start, "ax", @progbits
/* The boot CPU: r3 = the device tree, r4 = where the image was loaded, r5 = 0. */
    .globl _start
_start:
    fixup_endian
    bcl     20,31,1f
1:  mflr    %r12
    addi    %r7,%r12,(_start - 1b)  /* r7 = the run-time address of _start: the base */
    set_toc_and_stack 1b, boot_stack_top
    mr      %r6,%r11
    bl      payload_main        /* (r3, r4, r5, msr, base): never returns */
    nop
2:  b       2b

    .text
/* A secondary CPU from RTAS start-cpu: r3 = the argument start-cpu was given. */
    .globl secondary_entry
secondary_entry:
    fixup_endian
    bcl     20,31,1f
1:  mflr    %r12
    set_toc_and_stack 1b, secondary_stack_top
    mr      %r4,%r11
    bl      secondary_main      /* (r3, msr): never returns */
    nop
2:  b       2b

/*
 * void rtas_enter(uint64_t args, uint64_t entry): calls RTAS through its entry point, as an OS
 * does. RTAS runs big-endian in real mode, so it is entered with rfid (SRR1 = our MSR with LE
 * cleared; SF stays set, where Linux also drops to 32-bit mode: RTAS must cope with both) and
 * returns with blr to 2f, which switches back to our byte order. r3 = args is passed as is.
 * RTAS (minivmm's stub: one hcall) keeps r1, r2 and r13-r31 as an hcall does; r10-r12 go
 * in fixup_endian, the rest are volatile anyway. CR is saved whole, as Linux does around an
 * hcall, in case the call does not keep its non-volatile fields.
 */
    .globl rtas_enter
    .type rtas_enter, @function
rtas_enter:
    mfcr    %r0
    stw     %r0,8(%r1)          /* the caller's CR save word */
    mflr    %r0
    std     %r0,16(%r1)
    stdu    %r1,-FRAME(%r1)
    mfmsr   %r12
    rldicr  %r11,%r12,0,62      /* SRR1: this MSR, LE cleared (bit 63, the lowest) */
    li      %r10,0
    sync                        /* the argument buffer is in memory before RTAS reads it */
    mtmsrd  %r10,1              /* EE = RI = 0 while SRR0/1 hold the call */
    bcl     20,31,1f
1:  mflr    %r10
    addi    %r10,%r10,(2f - 1b)
    mtlr    %r10                /* RTAS returns to 2f */
    mtsrr0  %r4
    mtsrr1  %r11
    rfid
2:  fixup_endian                /* a no-op in the big-endian build */
    addi    %r1,%r1,FRAME
    lwz     %r12,8(%r1)
    mtcrf   0xff,%r12
    ld      %r0,16(%r1)
    mtlr    %r0
    blr
    .size rtas_enter, . - rtas_enter

/* Stacks: one for the boot CPU, one for the secondary (in the image's bss). */
    .section .bss.stacks, "aw", @nobits
    .balign 16
    .space STACK_SIZE
boot_stack_top:
    .space STACK_SIZE
secondary_stack_top:

    .section .note.GNU-stack, "", @progbits
