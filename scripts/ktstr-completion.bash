# bash completion for ktstr (make install puts it in share/bash-completion/completions/ktstr).
#
# The option lists are each subcommand's --help (spec/pkg/completion_spec.lua
# compares them); test names for --filter/--exact come from `ktstr script
# FILE... --list`, kernels for --kernel from `ktstr kernel list`, gauntlet
# presets for --topo from ktstr's own table. Plain bash: no bash-completion
# helpers needed.

_ktstr_opts_script='--filter --exact --partition --repeat -j --jobs --cpu-budget --junit --html --tap
  --list --kernel --json --keep --no-restore --hold --gauntlet --max-cpus -v --verbose -h --help'
_ktstr_opts_vm='--topo --memory-mib --kernel --timeout -i --include --append --no-kaslr
  --disk --console --keep --no-restore -v --verbose -h --help'
_ktstr_opts_repl='--topo --memory-mib --kernel --scheduler --ops-name --sched-arg --disk --attach
  --console --no-restore -v --verbose -h --help'
_ktstr_opts_verifier='--kernel --topo --gauntlet --max-cpus -j --jobs --sched-arg -h --help'
_ktstr_opts_lua='-e -h --help'
_ktstr_commands='script vm repl verifier kernel stats lua version help'
_ktstr_kernel_commands='fetch build clean list path source scx'
_ktstr_stats_commands='list show compare'

# the ktstr being completed: as typed when it runs, else the one on PATH
_ktstr_bin() {
	local b=${COMP_WORDS[0]}
	[[ $b == */* && -x $b ]] || b=ktstr
	printf '%s' "$b"
}

_ktstr_files() {
	local IFS=$'\n'
	COMPREPLY=($(compgen -f -- "$1"))
	compopt -o filenames 2>/dev/null
}

_ktstr_dirs() {
	local IFS=$'\n'
	COMPREPLY=($(compgen -d -- "$1"))
	compopt -o filenames 2>/dev/null
}

# test names of the scripts already on the line (--list loads them, boots nothing)
_ktstr_tests() {
	local i w files=()
	for ((i = 2; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		[[ $i != "$COMP_CWORD" && $w == *.lua && -f $w ]] && files+=("$w")
	done
	((${#files[@]})) || return
	COMPREPLY=($(compgen -W "$("$(_ktstr_bin)" script "${files[@]}" --list 2>/dev/null |
		awk '{ print $1 }')" -- "$1"))
}

_ktstr_kernels() {
	COMPREPLY=($(compgen -W "$("$(_ktstr_bin)" kernel list 2>/dev/null | awk '{ print $1 }')" \
		-- "$1"))
	local IFS=$'\n'
	COMPREPLY+=($(compgen -f -- "$1"))
}

_ktstr_topos() {
	local presets
	presets=$("$(_ktstr_bin)" lua -e \
		'for _, p in ipairs(require("ktstr.host.gauntlet").PRESETS) do print(p[1]) end' \
		2>/dev/null)
	COMPREPLY=($(compgen -W "1n1l2c1t 1n2l2c1t 1n2l2c2t 2n2l2c1t $presets" -- "$1"))
}

_ktstr() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]}
	COMPREPLY=()
	# --opt=value: bash splits at '='
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "$_ktstr_commands --version -h --help" -- "$cur"))
		return
	fi
	case $prev in
	--filter | --exact) _ktstr_tests "$cur"; return ;;
	--kernel) _ktstr_kernels "$cur"; return ;;
	--topo) _ktstr_topos "$cur"; return ;;
	--junit | --html | -i | --include) _ktstr_files "$cur"; return ;;
	--base | --new) _ktstr_dirs "$cur"; return ;;
	--partition | --repeat | -j | --jobs | --cpu-budget | --max-cpus | --memory-mib | \
		--timeout | --append | --disk | --scheduler | --ops-name | --sched-arg | --attach | \
		--alpha | -e)
		return ;;
	esac
	case $cmd in
	script | vm | repl | verifier | lua)
		local v=_ktstr_opts_$cmd
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "${!v}" -- "$cur"))
		elif [[ $cmd == script ]]; then
			local IFS=$'\n'
			COMPREPLY=($(compgen -f -X '!*.lua' -- "$cur") $(compgen -d -- "$cur"))
			compopt -o filenames 2>/dev/null
		elif [[ $cmd == lua ]]; then
			_ktstr_files "$cur"
		fi
		;;
	kernel)
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "$_ktstr_kernel_commands" -- "$cur"))
			return
		fi
		case $sub in
		build) [[ $cur == -* ]] && COMPREPLY=($(compgen -W "-j" -- "$cur")) || _ktstr_dirs "$cur" ;;
		clean) COMPREPLY=($(compgen -W "--all $("$(_ktstr_bin)" kernel list 2>/dev/null |
			awk '$4 == "built" { print $1 }')" -- "$cur")) ;;
		path)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--vmlinux --bzimage --btf --config" -- "$cur"))
			else
				_ktstr_kernels "$cur"
			fi
			;;
		esac
		;;
	stats)
		if ((COMP_CWORD == 2)); then
			COMPREPLY=($(compgen -W "$_ktstr_stats_commands" -- "$cur"))
		elif [[ $sub == compare && $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--base --new --alpha" -- "$cur"))
		else
			_ktstr_files "$cur"
		fi
		;;
	esac
}

complete -F _ktstr ktstr
